"""The `icon` template tag: a small line icon, decorative (aria-hidden).

    {% icon "home" %}  {% icon "home" "size-4 text-slate-400" %}

It replaces an include of a template with a chain of {% if name == ... %} per icon: the layout
shows a dozen icons on every page, and the include cost more than the rest of the layout.
Registered as a template builtin (settings.TEMPLATES), so no {% load %} is needed.
"""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

PATHS = {
    "menu": '<path d="M4 6h16M4 12h16M4 18h16"/>',
    "x": '<path d="M6 6l12 12M18 6 6 18"/>',
    "check-circle": '<circle cx="12" cy="12" r="9"/><path d="m8.5 12.5 2.5 2.5 4.5-5"/>',
    "check": '<path d="m5 12.5 4.5 4.5L19 7.5"/>',
    "info": '<circle cx="12" cy="12" r="9"/><path d="M12 11v5M12 8h.01"/>',
    "warning": '<path d="M12 3.5 2.5 20h19L12 3.5z"/><path d="M12 10v4M12 17h.01"/>',
    "error": '<circle cx="12" cy="12" r="9"/><path d="m9 9 6 6M15 9l-6 6"/>',
    "chevron-down": '<path d="m6 9 6 6 6-6"/>',
    "chevron-up-down": '<path d="m8 9 4-4 4 4M8 15l4 4 4-4"/>',
    "home": '<path d="m3 11 9-7 9 7"/><path d="M5 10v10h5v-6h4v6h5V10"/>',
    "building": (
        '<path d="M4 21V5a1 1 0 0 1 1-1h9a1 1 0 0 1 1 1v16M15 9h4a1 1 0 0 1 1 1v11M3'
        ' 21h18M8 8h3M8 12h3M8 16h3"/>'
    ),
    "users": (
        '<circle cx="9" cy="8" r="3.5"/>'
        '<path d="M2.5 20c.8-3.4 3.4-5.5 6.5-5.5s5.7 2.1 6.5 5.5M16 4.6a3.5 3.5 0 0 1 0'
        ' 6.8M18 14.8c1.9.8 3.1 2.6 3.5 5.2"/>'
    ),
    "receipt": '<path d="M6 3h12v18l-3-2-3 2-3-2-3 2V3z"/><path d="M9 8h6M9 12h6M9 16h3"/>',
    "funnel": '<path d="M3 5h18l-7 8v6l-4 2v-8L3 5z"/>',
    "shield": (
        '<path d="M12 3 20 6v6c0 4.5-3.4 8.3-8 9-4.6-.7-8-4.5-8-9V6l8-3z"/>'
        '<path d="m9 12 2 2 4-4"/>'
    ),
    "globe": (
        '<circle cx="12" cy="12" r="9"/>'
        '<path d="M3 12h18M12 3c2.5 2.7 3.8 5.7 3.8 9s-1.3 6.3-3.8'
        ' 9c-2.5-2.7-3.8-5.7-3.8-9S9.5 5.7 12 3z"/>'
    ),
    "arrow-right": '<path d="M5 12h14M13 6l6 6-6 6"/>',
    "clock": '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>',
    "lock": '<rect x="5" y="11" width="14" height="10" rx="2"/><path d="M8 11V8a4 4 0 0 1 8 0v3"/>',
    "sign-out": '<path d="M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3M10 16l-4-4 4-4M6 12h10"/>',
    "activity": '<path d="M3 12h4l3-8 4 16 3-8h4"/>',
}

SVG = (
    '<svg class="{} shrink-0" viewBox="0 0 24 24" fill="none" stroke="currentColor" '
    'stroke-width="1.75" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" '
    'focusable="false">{}</svg>\n'
)


@register.simple_tag
def icon(name, css_class="size-5"):
    """The icon's <svg>; an unknown name gives an empty one. The trailing newline is the one the
    included template used to leave, kept so the whitespace around icons stays as it was."""
    return format_html(SVG, css_class or "size-5", mark_safe(PATHS.get(name, "")))

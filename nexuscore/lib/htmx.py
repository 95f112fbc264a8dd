"""HTMX helpers: when to answer with a page's region only, and messages as toasts on partial
responses too."""

from django.contrib.messages import get_messages
from django.shortcuts import render
from django.template.loader import render_to_string


def is_partial(request) -> bool:
    """Whether to answer with the region HTMX swaps rather than the whole page: an HTMX request
    that is neither boosted (a whole page wanted) nor restoring history (htmx asks for the whole
    page when its history cache has lost it)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page(request, template: str, context: dict, *, partial: str, status: int = 200):
    """The page `template`, or only its `{% partialdef partial %}` for an HTMX swap."""
    name = f"{template}#{partial}" if is_partial(request) else template
    return render(request, name, context, status=status)


class HtmxMessagesMiddleware:
    """Append pending messages to HTMX responses as an out-of-band swap into #toasts.

    Full pages render their messages in the layout; a partial has no layout, so without this a
    message set while answering an HTMX request would wait for the next full page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        htmx = getattr(request, "htmx", None)
        if (
            not htmx
            or htmx.boosted
            or response.streaming
            or 300 <= response.status_code < 400
            or "HX-Redirect" in response
            or not response.get("Content-Type", "").startswith("text/html")
        ):
            return response
        storage = get_messages(request)
        if not list(storage):
            return response
        response.content += render_to_string(
            "includes/toasts.html", {"messages": storage, "oob": True}, request=request
        ).encode()
        return response

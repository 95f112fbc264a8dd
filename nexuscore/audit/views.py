"""The organisation's activity log (owner and admin): filtered, paged, and told in words.

Filters travel in the query string, so a filtered page can be bookmarked and works without
JavaScript; with it, the form and the page links fetch only the `events` partial and keep the
address bar in step (hx-push-url).
"""

from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from nexuscore.audit.forms import ActivityFilterForm
from nexuscore.audit.models import Event
from nexuscore.lib.htmx import render_page
from tenants.decorators import require_permission
from tenants.models import Membership

EVENTS_PER_PAGE = 50

# Event types in words; types not listed here are spelled out from their code.
EVENT_WORDS = {
    "organisation.created": "Organisation created",
    "organisation.updated": "Settings changed",
    "organisation.ownership_transferred": "Ownership transferred",
    "invitation.created": "Invitation sent",
    "invitation.resent": "Invitation sent again",
    "invitation.revoked": "Invitation revoked",
    "invitation.accepted": "Invitation accepted",
    "member.role_changed": "Role changed",
    "member.removed": "Member removed",
    "member.left": "Member left",
}

SETTING_WORDS = {
    "name": "name",
    "uen": "UEN",
    "is_gst_registered": "GST registered",
    "gst_number": "GST number",
    "billing_email": "billing email",
    "billing_phone": "billing phone",
    "billing_address": "billing address",
    "timezone": "time zone",
    "requires_two_factor": "two-factor required",
}

ROLE_WORDS = dict(Membership.Role.choices)
SUMMARY_LENGTH = 160


def event_words(event_type: str) -> str:
    """ "member.role_changed" -> "Role changed"; unknown types -> "Lead created" style."""
    if event_type in EVENT_WORDS:
        return EVENT_WORDS[event_type]
    return event_type.replace(".", " ").replace("_", " ").capitalize()


def _value_words(value) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value in (None, "", {}, []):
        return "(none)"
    if isinstance(value, dict):
        return ", ".join(str(part) for part in value.values() if part)
    return str(value)


def summarise(event) -> str:
    """A short line saying what the event's data holds, for people rather than machines."""
    data = event.data if isinstance(event.data, dict) else {}
    kind = event.event_type
    if kind == "organisation.updated" and isinstance(data.get("changes"), dict):
        parts = [
            f"{SETTING_WORDS.get(field, field)}: {_value_words(change.get('old'))} → "
            f"{_value_words(change.get('new'))}"
            for field, change in data["changes"].items()
            if isinstance(change, dict)
        ]
        text = "; ".join(parts)
    elif kind.startswith("invitation.") and "email" in data:
        text = f"{data['email']} as {ROLE_WORDS.get(data.get('role'), data.get('role', '?'))}"
        if data.get("already_member"):
            text += " (already a member)"
    elif kind == "member.role_changed":
        old, new = data.get("old"), data.get("new")
        text = f"{data.get('member', '?')}: {ROLE_WORDS.get(old, old)} → {ROLE_WORDS.get(new, new)}"
    elif kind in ("member.removed", "member.left"):
        role = data.get("role")
        text = f"{data.get('member', '?')} ({ROLE_WORDS.get(role, role)})"
    elif kind == "organisation.ownership_transferred":
        text = f"from {data.get('from', '?')} to {data.get('to', '?')}"
    else:
        text = "; ".join(f"{key}: {_value_words(value)}" for key, value in data.items())
    if len(text) > SUMMARY_LENGTH:
        text = text[: SUMMARY_LENGTH - 1].rstrip() + "…"
    return text


@require_GET
@vary_on_headers("HX-Request")
@require_permission("audit.view")
def activity(request):
    zone = request.tenant.zone
    event_types = (
        Event.objects.order_by("event_type").values_list("event_type", flat=True).distinct()
    )
    people = (
        get_user_model()
        .objects.filter(memberships__tenant=request.tenant)
        .order_by("name", "email")
    )
    form = ActivityFilterForm(
        request.GET,
        event_types=[(value, event_words(value)) for value in event_types],
        people=people,
    )
    form.is_valid()  # filters that are valid apply; the others show their error
    filters = {name: value for name, value in form.cleaned_data.items() if value}

    events = Event.objects.select_related("actor")
    if "type" in filters:
        events = events.filter(event_type=filters["type"])
    if "person" in filters:
        events = events.filter(actor_id=filters["person"])
    if "from" in filters:
        events = events.filter(created_at__gte=datetime.combine(filters["from"], time(), zone))
    if "to" in filters:
        next_day = filters["to"] + timedelta(days=1)
        events = events.filter(created_at__lt=datetime.combine(next_day, time(), zone))

    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    for event in page.object_list:
        event.words = event_words(event.event_type)
        event.summary = summarise(event)
    context = {
        "form": form,
        "page": page,
        "filtered": bool(filters),
        "zone": zone,
    }
    return render_page(request, "app/activity.html", context, partial="events")

"""{% retention_section %} for the settings page, and the words of a request's history."""

from django import template

from nexuscore.privacy.forms import RetentionForm
from nexuscore.privacy.tasks import retention_months

register = template.Library()

HISTORY_WORDS = {
    "privacy.request_confirmed": "Confirmed by the person; the 30 days started",
    "privacy.export_started": "Export started",
    "privacy.export_failed": "Export failed",
    "privacy.export_ready": "Export sent",
    "privacy.export_downloaded": "Export downloaded",
    "privacy.deletion_approved": "Deletion approved",
    "privacy.deletion_completed": "Data anonymised",
    "privacy.request_completed": "Answered",
    "privacy.request_declined": "Declined",
}


@register.filter
def history_words(event_type: str) -> str:
    return HISTORY_WORDS.get(event_type, event_type.split(".")[-1].replace("_", " ").capitalize())


@register.inclusion_tag("privacy/retention_section.html", takes_context=True)
def retention_section(context):
    """The retention card of the organisation's settings page, posting to privacy:retention."""
    tenant = context["request"].tenant
    form = RetentionForm(initial={"months": retention_months(tenant)})
    return {"form": form, "csrf_token": context.get("csrf_token")}

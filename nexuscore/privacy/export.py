"""The access export: everything the active schema holds about one email address, as a ZIP.

`gather()` collects it (leads with their form data and consent records, the notes about them,
the audit events about them, the person's earlier privacy requests, and in the public schema
their user account and memberships); `build_archive()` writes `summary.txt` (what is held and how
it was used or disclosed in the past year, in words), `data.json` (all of it) and one CSV per
kind; `build_export()` is the task that runs both, counts the export against the plan
(`privacy.exports`), stores the file under the organisation's media folder and emails the
person a download link that works for EXPORT_DAYS.

Only exact address matches count: ann@x.sg's export never holds joann@x.sg's leads.
"""

import io
import json
import zipfile
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from nexuscore.audit.models import Event
from nexuscore.leads.models import LeadNote
from nexuscore.lib import csv as safe_csv
from nexuscore.privacy.erasure import email_pattern, leads_of
from nexuscore.privacy.models import DSARRequest

LEAD_FIELDS = [
    "id", "name", "email", "phone", "company", "job_title", "source", "status", "lost_reason",
    "notes", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
    "form_data", "next_follow_up", "converted_at", "consent_purpose", "consent_text",
    "consent_version", "consent_given_at", "consent_withdrawn_at", "created_at", "updated_at",
]  # fmt: skip

# What an event about a lead meant for the person, for the summary's "uses and disclosures".
USES = {
    "lead.created": "Your details were recorded",
    "lead.updated": "Your details were changed",
    "lead.status_changed": "The status of your enquiry changed",
    "lead.assigned": "Your details were passed to a member of the team to follow up",
    "lead.note_added": "A member of the team wrote a note about you",
    "lead.follow_up_set": "A follow-up with you was scheduled",
    "lead.converted": "You were recorded as a customer",
    "lead.email_sent": "Your details were sent by email",
    "lead.consent_withdrawn": "Your consent was withdrawn",
    "lead.deleted": "A record about you was deleted",
}


def gather(email: str) -> dict:
    """Everything the active schema holds about `email`, JSON-ready."""
    from nexuscore.accounts.models import User

    leads = list(leads_of(email).order_by("created_at", "id").values(*LEAD_FIELDS))
    lead_ids = [str(lead["id"]) for lead in leads]
    notes = list(
        LeadNote.objects.filter(lead_id__in=lead_ids)
        .order_by("created_at")
        .values("lead_id", "text", "created_at")
    )
    requests = list(
        DSARRequest.objects.filter(email__iexact=email.strip())
        .order_by("requested_at")
        .values("id", "request_type", "status", "requested_at", "verified_at", "processed_at")
    )
    request_ids = [str(request["id"]) for request in requests]
    condition = Q(data__lead__in=lead_ids) | Q(data__request__in=request_ids)
    pattern = email_pattern(email)
    account, memberships = None, []
    user = None
    if connection.schema_name == "public":
        user = User.objects.filter(email__iexact=email.strip()).first()
    if user is not None:
        account = {
            "email": user.email,
            "name": user.name,
            "company": user.company,
            "phone": user.phone,
            "timezone": user.timezone,
            "email_preferences": user.email_preferences,
            "created_at": user.created_at,
            "last_login": user.last_login,
        }
        memberships = [
            {"organisation": m.tenant.name, "role": m.get_role_display(), "joined_at": m.joined_at}
            for m in user.memberships.select_related("tenant").order_by("joined_at")
        ]
        condition |= Q(actor=user)
    events = []
    candidates = Event.objects.filter(condition | Q(data__icontains=email.strip()))
    rows = candidates.order_by("created_at").values("event_type", "data", "created_at", "actor")
    for event in rows:
        about_lead = str(event["data"].get("lead", "")) in lead_ids
        about_request = str(event["data"].get("request", "")) in request_ids
        by_them = user is not None and event.pop("actor") == user.pk
        mentions = pattern.search(json.dumps(event["data"], cls=DjangoJSONEncoder))
        event.pop("actor", None)
        if about_lead or about_request or by_them or mentions:
            events.append(event)
    for lead in leads:
        lead["id"] = str(lead["id"])
    for note in notes:
        note["lead_id"] = str(note["lead_id"])
    return {
        "email": email,
        "leads": leads,
        "notes": notes,
        "events": events,
        "privacy_requests": requests,
        "account": account,
        "memberships": memberships,
    }


def _csv(rows: list[dict], fields: list[str]) -> bytes:
    """`fields` of each row, one column each; what the person (or anyone) typed is written so
    that a spreadsheet shows it rather than runs it."""
    buffer = io.StringIO()
    writer = safe_csv.writer(buffer)
    writer.writerow(fields)
    for row in rows:
        values = (row.get(field, "") for field in fields)
        writer.writerow(
            json.dumps(value, cls=DjangoJSONEncoder) if isinstance(value, dict | list) else value
            for value in values
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # Excel reads UTF-8 with a BOM


def _day(moment) -> str:
    return timezone.localtime(moment).strftime("%d %b %Y") if moment else "-"


def summary(data: dict, *, organisation: str, is_public: bool, requested_at, now=None) -> str:
    """The human-readable part: what is held, how it was used or disclosed in the past year,
    and what is kept whatever is asked."""
    now = now or timezone.now()
    year_ago = now - timedelta(days=365)
    lines = [
        f"Personal data {organisation} holds about {data['email']}",
        f"Prepared on {_day(now)} in answer to your access request of {_day(requested_at)}.",
        "",
        "WHAT WE HOLD",
    ]
    if not (data["leads"] or data["account"] or data["events"]):
        lines.append("- Nothing: we hold no personal data under this email address.")
    if data["account"]:
        lines.append(
            f"- Your NexusCore account, opened {_day(data['account']['created_at'])}, and "
            f"{len(data['memberships'])} organisation membership(s)."
        )
    for lead in data["leads"]:
        consent = (
            f'consent given {_day(lead["consent_given_at"])} for "{lead["consent_purpose"]}" '
            f"(wording version {lead['consent_version'] or '-'})"
            if lead["consent_given_at"]
            else "no consent record (added by the team)"
        )
        if lead["consent_withdrawn_at"]:
            consent += f", withdrawn {_day(lead['consent_withdrawn_at'])}"
        lines.append(
            f"- A contact record created {_day(lead['created_at'])} (source: {lead['source']}, "
            f"status: {lead['status']}); {consent}."
        )
    if data["notes"]:
        lines.append(f"- {len(data['notes'])} note(s) written about you by the team.")
    if data["events"]:
        lines.append(f"- {len(data['events'])} entr(ies) in the activity log that concern you.")
    lines += ["", f"HOW YOUR DATA WAS USED OR DISCLOSED SINCE {_day(year_ago).upper()}"]
    recent = [event for event in data["events"] if event["created_at"] >= year_ago]
    uses = [event for event in recent if event["event_type"] in USES]
    for event in uses:
        lines.append(f"- {_day(event['created_at'])}: {USES[event['event_type']]}.")
    if not uses:
        lines.append("- No use of your data was recorded in the past year.")
    if is_public:
        lines.append(
            "- Disclosures: only to the service providers that run NexusCore for us (hosting in "
            "Singapore, email delivery, payments), under contract. No other disclosure."
        )
    else:
        lines.append(
            f"- Disclosures: {organisation} keeps your data in NexusCore, which processes it "
            f"only on {organisation}'s behalf (hosted in Singapore). No other disclosure was "
            "recorded."
        )
    lines += [
        "",
        "WHAT IS KEPT WHATEVER YOU ASK",
        "- Tax invoices and billing records are kept for five years, as Singapore's tax laws "
        "require. They are not part of a deletion.",
        "- A record of your privacy requests (what was asked and when it was answered).",
        "",
        "THE FILES IN THIS ARCHIVE",
        "- summary.txt: this summary",
        "- data.json: everything above, in full",
        "- leads.csv, notes.csv, activity.csv: the same, for a spreadsheet",
    ]
    if data["account"]:
        lines.append("- account.csv: your account and memberships")
    return "\n".join(lines) + "\n"


def build_archive(data: dict, summary_text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("summary.txt", summary_text)
        archive.writestr("data.json", json.dumps(data, cls=DjangoJSONEncoder, indent=2))
        archive.writestr("leads.csv", _csv(data["leads"], LEAD_FIELDS))
        archive.writestr("notes.csv", _csv(data["notes"], ["lead_id", "text", "created_at"]))
        archive.writestr("activity.csv", _csv(data["events"], ["created_at", "event_type", "data"]))
        if data["account"]:
            rows = [data["account"], *data["memberships"]]
            fields = [*data["account"], "organisation", "role", "joined_at"]
            archive.writestr("account.csv", _csv(rows, fields))
    return buffer.getvalue()


def _progress(request: DSARRequest, percent: int) -> None:
    DSARRequest.objects.filter(pk=request.pk).update(progress=percent)


def build_export(request_id: str) -> None:
    """The task (in the request's schema): build the archive, store it, tell the person.

    Safe to run twice: a finished export is left alone; one that was cut off starts again.
    The export counts against the plan's `privacy.exports`; past a HARD limit the request is
    marked failed with the reason, and the inbox offers to try again.
    """
    from nexuscore.privacy import actions
    from nexuscore.quotas.models import QuotaExceeded, record_usage
    from tenants.models import Tenant

    request = DSARRequest.objects.filter(pk=request_id).first()
    if request is None or request.status != DSARRequest.Status.PROCESSING:
        return
    tenant = Tenant.objects.get(schema_name=connection.schema_name)
    if not request.metadata.get("counted"):
        try:
            if not tenant.is_public:
                record_usage(tenant, "privacy.exports", metadata={"request": str(request.pk)})
        except QuotaExceeded as refused:
            actions.export_failed(request, f"The plan's limit was reached: {refused}")
            return
        request.metadata["counted"] = True
        DSARRequest.objects.filter(pk=request.pk).update(metadata=request.metadata)
    _progress(request, 10)
    data = gather(request.email)
    _progress(request, 60)
    text = summary(
        data,
        organisation="NexusCore" if tenant.is_public else tenant.name,
        is_public=tenant.is_public,
        requested_at=request.requested_at,
    )
    content = build_archive(data, text)
    _progress(request, 90)
    if request.export_file:
        request.export_file.delete(save=False)
    request.export_file.save(f"{request.pk}.zip", ContentFile(content), save=False)
    actions.export_ready(request, tenant, counts={k: len(data[k]) for k in ("leads", "notes")})

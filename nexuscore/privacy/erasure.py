"""Anonymising a person's data in the active schema: a deletion request, or the retention rule.

PDPA has no general right to erasure, but data no longer needed must not be kept. The rows stay
(a lead still counts in the funnel, the source and campaign statistics and the usage meter), but
everything that could tell who the person was is cleared or replaced: name, email, phone,
company, job title, free text (notes, lost reason, the form's message), the form data, and the
person's details in the text of the audit events about them (`redact_events`, the one sanctioned
change to an event), and their rows among the rejected rows of CSV imports. Clearing the next
follow-up takes the lead out of the daily digest, the one scheduled email that mentions leads by
name.

Kept: what the person consented to (purpose, wording, version, time, and now withdrawn), the
dates, the status and the campaign fields. Invoices are NexusCore's tax records about
organisations, in the public schema, and are kept for five years whatever is asked.
"""

import re

from django.db import transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from nexuscore.audit.models import Event, redact_events
from nexuscore.leads.imports import rewrite_report
from nexuscore.leads.models import Lead, LeadImport, LeadNote

ANONYMOUS_NAME = "Anonymised person"
REMOVED = "[removed]"
# Keys of an event about a lead whose values are that person's details.
PERSONAL_KEYS = frozenset(
    {"name", "email", "phone", "company", "job_title", "notes", "text", "message", "reason"}
)
CHUNK = 1000


def leads_of(email: str):
    """The leads with this email address, whatever its case (served by `lead_email_upper`).

    Exact: ann@x.sg is not joann@x.sg.
    """
    return Lead.objects.filter(email__iexact=(email or "").strip())


def email_pattern(email: str) -> re.Pattern:
    """Matches the address as a whole inside a longer text, never inside another address."""
    return re.compile(rf"(?<![\w.+-]){re.escape(email.strip())}(?![\w-]|\.\w)", flags=re.IGNORECASE)


def _scrub(value, patterns):
    if isinstance(value, str):
        for pattern in patterns:
            value = pattern.sub(REMOVED, value)
        return value
    if isinstance(value, list):
        return [_scrub(item, patterns) for item in value]
    if isinstance(value, dict):
        return {key: _scrub(item, patterns) for key, item in value.items()}
    return value


def event_redactor(lead_ids: set[str], patterns: list[re.Pattern]):
    """`redact(data)` for redact_events: an event about one of `lead_ids` loses the values of
    its PERSONAL_KEYS; every event loses the matches of `patterns` (the person's addresses)."""

    def redact(data):
        if not isinstance(data, dict):
            return _scrub(data, patterns)
        about_them = str(data.get("lead", "")) in lead_ids
        cleaned = {}
        for key, value in data.items():
            if about_them and key in PERSONAL_KEYS and value not in ("", None):
                cleaned[key] = REMOVED
            else:
                cleaned[key] = _scrub(value, patterns)
        return cleaned

    return redact


def events_about(lead_ids, emails=()):
    """Events about these leads, or whose text mentions one of these addresses."""
    condition = Q(pk__in=[])
    ids = [str(pk) for pk in lead_ids]
    for start in range(0, len(ids), CHUNK):
        condition |= Q(data__lead__in=ids[start : start + CHUNK])
    for email in emails:
        if email:
            condition |= Q(data__icontains=email)
    return Event.objects.filter(condition)


def anonymise_leads(leads, *, emails=()) -> dict:
    """Anonymise `leads` (a queryset in the active schema) and redact the events about them
    and those mentioning `emails`. Returns the counts. Safe to run twice."""
    now = timezone.now()
    ids = list(leads.filter(anonymised_at__isnull=True).values_list("pk", flat=True))
    known = set(emails)
    known.update(Lead.objects.filter(pk__in=ids).exclude(email="").values_list("email", flat=True))
    known = sorted({email.lower() for email in known if email})
    patterns = [email_pattern(email) for email in known]
    counts = {"leads": 0, "notes": 0, "events": 0}
    with transaction.atomic():
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            counts["leads"] += Lead.objects.filter(pk__in=chunk).update(
                name=ANONYMOUS_NAME,
                email="",
                phone="",
                company="",
                job_title="",
                notes="",
                lost_reason="",
                form_data={},
                submission_key=None,
                next_follow_up=None,
                consent_withdrawn_at=Coalesce("consent_withdrawn_at", Value(now)),
                anonymised_at=now,
                updated_at=now,
            )
            counts["notes"] += LeadNote.objects.filter(lead_id__in=chunk).update(text=REMOVED)
        redact = event_redactor({str(pk) for pk in ids}, patterns)
        counts["events"] = redact_events(events_about(ids, known), redact)
        counts["import_rows"] = scrub_import_reports(patterns)
    return counts


def scrub_import_reports(patterns) -> int:
    """Clear the rejected rows of CSV imports that mention one of these addresses, and write
    their reports again: a rejected row is the person's data as it was uploaded. (The uploaded
    files themselves are deleted once an import is done.) Returns how many rows were cleared."""
    if not patterns:
        return 0
    cleared = 0
    imports = LeadImport.objects.select_for_update().exclude(rejects=[])
    for lead_import in imports:
        rows = []
        for number, reason, cells in lead_import.rejects:
            if any(pattern.search(str(cell)) for cell in cells for pattern in patterns):
                cells, cleared = [REMOVED] * len(cells), cleared + 1
            rows.append([number, reason, cells])
        if rows != lead_import.rejects:
            lead_import.rejects = rows
            if lead_import.report:
                rewrite_report(lead_import)
            lead_import.save(update_fields=["rejects", "report"])
    return cleared

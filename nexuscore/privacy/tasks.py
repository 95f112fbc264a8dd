"""Scheduled privacy work (daily; SCHEDULES below, nexuscore/lib/schedules.py).

Both run in the public schema and visit each schema in turn (public first, for NexusCore's own
requests and leads); one organisation's failure does not stop the others, and both are safe to
run twice.

- `send_deadline_reminders`: owners and admins are emailed once about each open request with
  REMIND_DAYS or fewer left; unconfirmed requests whose link has expired are marked expired;
  export files past their download period are deleted.
- `apply_retention`: in each organisation that set a retention period, leads that were lost or
  never converted and untouched for that long are anonymised; an audit event records how many.
"""

import hashlib
import logging
from datetime import timedelta

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from nexuscore.audit.models import record_event
from nexuscore.leads.models import Lead
from nexuscore.lib.schedules import Recurring
from nexuscore.mail.outbox import queue_email
from nexuscore.privacy.actions import _inbox_link, organisation_name, team_addresses
from nexuscore.privacy.erasure import anonymise_leads
from nexuscore.privacy.models import REMIND_DAYS, VERIFY_HOURS, DSARRequest
from tenants.tasks import for_each_organisation

SCHEDULES = [
    Recurring(
        "privacy deadline reminders", "nexuscore.privacy.tasks.send_deadline_reminders", daily_at=9
    ),
    Recurring("privacy retention", "nexuscore.privacy.tasks.apply_retention", daily_at=3),
]

log = logging.getLogger(__name__)

RETENTION_KEY = "lead_retention_months"
RETENTION_CHOICES = [(0, "Keep them until deleted by hand"), (6, "6 months"), (12, "12 months"),
                     (24, "24 months"), (36, "36 months")]  # fmt: skip


def send_deadline_reminders(now=None) -> int:
    """Returns how many reminder emails went out."""
    return for_each_organisation(lambda tenant: remind_in_schema(tenant, now), include_public=True)


def remind_in_schema(tenant, now=None) -> int:
    now = now or timezone.now()
    DSARRequest.objects.filter(
        status=DSARRequest.Status.UNVERIFIED, requested_at__lt=now - timedelta(hours=VERIFY_HOURS)
    ).update(status=DSARRequest.Status.EXPIRED)
    for request in DSARRequest.objects.exclude(export_file="").filter(export_expires_at__lt=now):
        request.export_file.delete(save=False)
        request.save(update_fields=["export_file"])
    due = list(
        DSARRequest.objects.open()
        .filter(due_at__lte=now + timedelta(days=REMIND_DAYS), reminder_sent_at__isnull=True)
        .order_by("due_at")
    )
    if not due:
        return 0
    for request in due:
        request.link = _inbox_link(tenant, request)
    request_ids = sorted(str(request.pk) for request in due)
    # The reminder and its record are committed together (the outbox sends it afterwards).
    with transaction.atomic():
        queue_email(
            subject=f"Privacy requests due soon at {organisation_name(tenant)}",
            body=render_to_string(
                "emails/privacy_reminder.txt",
                {"requests": due, "organisation": organisation_name(tenant)},
            ),
            to=team_addresses(tenant),
            dedupe_key=f"privacy-reminder:{tenant.schema_name}:"
            + hashlib.sha256(",".join(request_ids).encode()).hexdigest()[:32],
            schema_name=tenant.schema_name,
        )
        DSARRequest.objects.filter(pk__in=request_ids).update(reminder_sent_at=now)
    return 1


def retention_months(tenant) -> int:
    """The organisation's retention period for lost and unconverted leads; 0 means off."""
    try:
        return int((tenant.settings or {}).get(RETENTION_KEY) or 0)
    except (TypeError, ValueError):
        return 0


def expired_leads(months: int, now=None):
    """Leads lost or never converted, untouched for `months` (30.4-day months)."""
    cutoff = (now or timezone.now()) - timedelta(days=round(months * 365 / 12))
    return (
        Lead.objects.filter(anonymised_at__isnull=True, converted_at__isnull=True)
        .exclude(status=Lead.Status.WON)
        .filter(updated_at__lt=cutoff)
    )


def apply_retention(now=None) -> int:
    """Returns how many leads were anonymised in all organisations."""

    def retain(tenant) -> int:
        months = retention_months(tenant)
        return apply_retention_in_schema(months, now) if months else 0

    return for_each_organisation(retain)


def apply_retention_in_schema(months: int, now=None) -> int:
    counts = anonymise_leads(expired_leads(months, now))
    if counts["leads"]:
        record_event("privacy.retention_applied", data={"months": months, **counts})
    return counts["leads"]

"""Scheduled privacy work (django-q2 schedules, daily; see migrations/0002_schedules.py).

Both run in the public schema and visit each schema in turn (public first, for NexusCore's own
requests and leads); one organisation's failure does not stop the others, and both are safe to
run twice.

- `send_deadline_reminders`: owners and admins are emailed once about each open request with
  REMIND_DAYS or fewer left; unconfirmed requests whose link has expired are marked expired;
  export files past their download period are deleted.
- `apply_retention`: in each organisation that set a retention period, leads that were lost or
  never converted and untouched for that long are anonymised; an audit event records how many.
"""

import logging
from datetime import timedelta

from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone
from django_tenants.utils import schema_context

from nexuscore.audit.models import record_event
from nexuscore.leads.models import Lead
from nexuscore.privacy.actions import _inbox_link, organisation_name, team_addresses
from nexuscore.privacy.erasure import anonymise_leads
from nexuscore.privacy.models import REMIND_DAYS, VERIFY_HOURS, DSARRequest

log = logging.getLogger(__name__)

RETENTION_KEY = "lead_retention_months"
RETENTION_CHOICES = [(0, "Keep them until deleted by hand"), (6, "6 months"), (12, "12 months"),
                     (24, "24 months"), (36, "36 months")]  # fmt: skip


def _organisations():
    from tenants.models import Tenant

    public = Tenant.objects.filter(schema_name="public")
    others = Tenant.objects.exclude(schema_name="public").filter(status=Tenant.Status.ACTIVE)
    return [*public, *others.order_by("schema_name")]


def send_deadline_reminders(now=None) -> int:
    """Returns how many reminder emails went out."""
    sent = 0
    for tenant in _organisations():
        with schema_context(tenant.schema_name):
            try:
                sent += remind_in_schema(tenant, now)
            except Exception:  # one organisation's failure must not stop the others
                log.exception("Privacy reminders failed for %s", tenant.schema_name)
    return sent


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
    send_mail(
        subject=f"Privacy requests due soon at {organisation_name(tenant)}",
        message=render_to_string(
            "emails/privacy_reminder.txt",
            {"requests": due, "organisation": organisation_name(tenant)},
        ),
        from_email=None,
        recipient_list=team_addresses(tenant),
    )
    DSARRequest.objects.filter(pk__in=[request.pk for request in due]).update(reminder_sent_at=now)
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
    total = 0
    for tenant in _organisations():
        months = retention_months(tenant)
        if not months or tenant.is_public:
            continue
        with schema_context(tenant.schema_name):
            try:
                total += apply_retention_in_schema(months, now)
            except Exception:
                log.exception("Retention failed for %s", tenant.schema_name)
    return total


def apply_retention_in_schema(months: int, now=None) -> int:
    counts = anonymise_leads(expired_leads(months, now))
    if counts["leads"]:
        record_event("privacy.retention_applied", data={"months": months, **counts})
    return counts["leads"]

"""Trial reminders: mail to an organisation's owner three days before its free trial ends and
on the day it ends.

`send_trial_reminders` runs once a day (a django-q2 schedule) in the public schema, where
subscriptions live. Days are counted in the organisation's time zone. Each reminder is sent at
most once: it is queued in the outbox (nexuscore/mail/outbox.py, sent after the commit) in the
transaction that records it in `Subscription.metadata["trial_reminders"]` while the
subscription's row is locked, so running the task twice, or in two workers at once, sends
nothing twice.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from nexuscore.audit.models import record_event
from nexuscore.billing.models import Subscription
from nexuscore.lib.schedules import Recurring
from nexuscore.mail.outbox import queue_email
from tenants.models import Tenant

SCHEDULES = [
    Recurring("trial reminders", "nexuscore.onboarding.tasks.send_trial_reminders", daily_at=9)
]

log = logging.getLogger(__name__)

THREE_DAYS = "3_days"
# Sent on the day the trial ends: before the hour it ends, it says "ends today".
ENDED = "ended"
# A trial still gets its "ended" mail this long afterwards, in case the task did not run on
# the day (a worker down over a weekend); older trials are left alone.
ENDED_GRACE = timedelta(days=7)


def days_left(subscription, now) -> int:
    """Calendar days from today to the day the trial ends, in the organisation's time zone."""
    zone = subscription.tenant.zone
    return (subscription.trial_end.astimezone(zone).date() - now.astimezone(zone).date()).days


def due_reminder(subscription, now) -> str | None:
    """The reminder this trial should have had by `now`, or None."""
    days = days_left(subscription, now)
    if days <= 0:
        return ENDED if subscription.trial_end > now - ENDED_GRACE else None
    if days <= 3:
        return THREE_DAYS
    return None


def send_trial_reminders() -> int:
    """Send the trial reminders that are due; returns how many were sent. Safe to run twice."""
    now = timezone.now()
    candidates = (
        Subscription.objects.filter(
            status=Subscription.Status.TRIALING,
            trial_end__gt=now - ENDED_GRACE,
            trial_end__lt=now + timedelta(days=5),  # 3 calendar days ahead in any time zone
        )
        .exclude(tenant__status=Tenant.Status.CLOSED)
        .values_list("pk", flat=True)
    )
    sent = 0
    for subscription_id in list(candidates):
        try:
            sent += send_due_reminder(subscription_id, now)
        except Exception:
            # Nothing was recorded for this one, so tomorrow's run tries it again.
            log.exception("trial reminder for subscription %s failed", subscription_id)
    return sent


def send_due_reminder(subscription_id, now) -> bool:
    """Send this subscription's due reminder unless it was sent before; True when sent."""
    with transaction.atomic():
        subscription = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("tenant__owner", "plan")
            .filter(pk=subscription_id, status=Subscription.Status.TRIALING)
            .first()
        )
        if subscription is None or subscription.trial_end is None:
            return False
        kind = due_reminder(subscription, now)
        sent_before = list(subscription.metadata.get("trial_reminders", []))
        owner = subscription.tenant.owner
        if kind is None or kind in sent_before or owner is None:
            return False
        if not owner.wants_email("trial"):
            return False
        # Queued with the record: both are committed, or neither.
        _send_mail(kind, subscription, owner, now)
        subscription.metadata = {**subscription.metadata, "trial_reminders": [*sent_before, kind]}
        subscription.save(update_fields=["metadata", "updated_at"])
        record_event(
            "trial.reminder_sent",
            tenant=subscription.tenant,
            data={"reminder": kind, "to": owner.email, "plan": subscription.plan.sku},
            schema_name="public",
        )
    return True


def _send_mail(kind, subscription, owner, now):
    tenant = subscription.tenant
    context = {
        "owner": owner,
        "tenant": tenant,
        "plan": subscription.plan,
        "trial_end": subscription.trial_end,
        "time_zone": tenant.zone.key,
        "days_left": days_left(subscription, now),
        "has_ended": subscription.trial_end <= now,
        "choose_plan_url": tenant.url_for("billing"),
        "open_url": f"{settings.SITE_URL}/accounts/organisations/{tenant.schema_name}/open/",
    }
    subject = " ".join(render_to_string(f"emails/trial_{kind}_subject.txt", context).split())
    queue_email(
        subject=subject,
        body=render_to_string(f"emails/trial_{kind}.txt", context),
        to=[owner.email],
        html_body=render_to_string(f"emails/trial_{kind}.html", context),
        dedupe_key=f"trial-reminder:{subscription.pk}:{kind}",
        schema_name=tenant.schema_name,
    )

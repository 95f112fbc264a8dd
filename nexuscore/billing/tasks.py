"""Billing's scheduled tasks, and when they run (SCHEDULES: nexuscore/lib/schedules.py)."""

from nexuscore.billing import dunning, idempotency
from nexuscore.lib.schedules import Recurring

SCHEDULES = [
    Recurring(
        "delete expired idempotency records",
        "nexuscore.billing.tasks.delete_expired_idempotency_records",
        daily_at=4,
    ),
    # The read-only state itself needs no task: this records it and tells the owner.
    Recurring(
        "dunning: grace periods ended", "nexuscore.billing.tasks.enforce_grace_periods", hourly=True
    ),
    Recurring(
        "webhooks: pick up stale events",
        "nexuscore.billing.tasks.pick_up_stale_webhook_events",
        minutes=10,
    ),
]


def delete_expired_idempotency_records() -> int:
    """Daily: idempotency records past their expiry are deleted."""
    return idempotency.delete_expired()


def enforce_grace_periods() -> int:
    """Hourly: record, once, that an overdue organisation's grace period is over."""
    return dunning.enforce_grace_periods()


def pick_up_stale_webhook_events() -> int:
    """Every 10 minutes: queue again the Stripe events a lost task left pending."""
    from nexuscore.billing.webhooks import pick_up_stale_events

    return pick_up_stale_events()

"""Billing's scheduled tasks (django-q2 schedules created by migrations billing/0007, 0008)."""

from nexuscore.billing import dunning, idempotency


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

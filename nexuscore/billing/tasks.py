"""Billing's scheduled tasks (django-q2 schedules created by migration billing/0007)."""

from nexuscore.billing import dunning, idempotency


def delete_expired_idempotency_records() -> int:
    """Daily: idempotency records past their expiry are deleted."""
    return idempotency.delete_expired()


def enforce_grace_periods() -> int:
    """Hourly: record, once, that an overdue organisation's grace period is over."""
    return dunning.enforce_grace_periods()

"""Dunning: what happens to an organisation between a failed payment and the next good one.

1. A payment fails (invoice.payment_failed): the subscription is past due, the organisation's
   `payment_overdue_since` is set (to when it first failed, kept through Stripe's retries) and
   the owner is emailed.
2. settings.BILLING_GRACE_DAYS later (7 by default) the organisation is read-only. No task makes
   it so: tenants/middleware.py compares the cached tenant row with the clock on each request.
   The hourly task `enforce_grace_periods` records that moment and tells the owner, once.
3. A payment succeeds (invoice.paid): `payment_overdue_since` is cleared and everything is
   writable again at once.

Every step is an audit event in the organisation's own activity log.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event, record_event
from nexuscore.billing.models import Subscription
from nexuscore.mail.outbox import queue_email
from tenants.models import Tenant


def grace_period() -> timedelta:
    return timedelta(days=settings.BILLING_GRACE_DAYS)


def _email_owner(tenant, template: str, subject: str, context: dict, *, dedupe_key: str) -> None:
    """Email the owner, in the caller's transaction (through the outbox)."""
    if tenant.owner is None:
        return
    context = {
        "tenant": tenant,
        "owner": tenant.owner,
        "billing_url": tenant.url_for("billing"),
        "grace_days": settings.BILLING_GRACE_DAYS,
        **context,
    }
    queue_email(
        subject=subject,
        body=render_to_string(f"emails/{template}.txt", context),
        to=[tenant.owner.email],
        dedupe_key=dedupe_key,
        schema_name=tenant.schema_name,
    )


def record_payment_failed(tenant, subscription, invoice, failed_at) -> None:
    """invoice.payment_failed: past due, the grace period starts (unless it already runs), the
    owner is told. Call inside the handler's transaction."""
    tenant = (
        Tenant.objects.select_for_update(of=("self",)).select_related("owner").get(pk=tenant.pk)
    )
    first_failure = tenant.payment_overdue_since is None
    if first_failure:
        tenant.payment_overdue_since = failed_at
        tenant.save(update_fields=["payment_overdue_since", "updated_at"])  # forgets the host
    if subscription is not None and subscription.status != Subscription.Status.CANCELED:
        # Like a subscription event of that moment: an older one arriving later is skipped.
        seen = subscription.metadata.get("stripe_event_created", 0)
        subscription.metadata = {
            **subscription.metadata,
            "stripe_event_created": max(seen, int(failed_at.timestamp())),
        }
        subscription.status = Subscription.Status.PAST_DUE
        subscription.save(update_fields=["status", "metadata", "updated_at"])
    read_only_from = tenant.payment_overdue_since + grace_period()
    record_event(
        "billing.payment_failed",
        tenant=tenant,
        data={
            "invoice": invoice.number,
            "stripe_invoice": invoice.stripe_invoice_id,
            "read_only_from": read_only_from.isoformat(),
        },
        schema_name=tenant.schema_name,
    )
    _email_owner(
        tenant,
        "billing_payment_failed",
        f"Payment for {tenant.name} on NexusCore failed",
        {"invoice": invoice, "read_only_from": read_only_from},
        dedupe_key=f"payment-failed:{invoice.pk}:{int(failed_at.timestamp())}",
    )


def record_payment_received(tenant) -> bool:
    """invoice.paid: the organisation is no longer overdue; True when it was."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.payment_overdue_since is None:
        return False
    overdue_since = tenant.payment_overdue_since
    tenant.payment_overdue_since = None
    tenant.save(update_fields=["payment_overdue_since", "updated_at"])
    record_event(
        "billing.payment_restored",
        tenant=tenant,
        data={"overdue_since": overdue_since.isoformat()},
        schema_name=tenant.schema_name,
    )
    return True


def enforce_grace_periods(now=None) -> int:
    """Record (once per overdue spell) that an organisation's grace period is over, and email
    its owner; returns how many were recorded. Safe to run twice or in two workers."""
    now = now or timezone.now()
    overdue = Tenant.objects.filter(payment_overdue_since__lte=now - grace_period()).values_list(
        "pk", flat=True
    )
    recorded = 0
    for tenant_id in list(overdue):
        with transaction.atomic():
            tenant = (
                Tenant.objects.select_for_update(of=("self",))
                .select_related("owner")
                .filter(pk=tenant_id, payment_overdue_since__lte=now - grace_period())
                .first()
            )
            if tenant is None:
                continue
            spell = tenant.payment_overdue_since.isoformat()
            # The audit event is the record that this spell was announced (the tenant's row
            # is locked, so two workers cannot both miss it).
            with schema_context(tenant.schema_name):
                if Event.objects.filter(
                    event_type="billing.read_only", data__overdue_since=spell
                ).exists():
                    continue
            record_event(
                "billing.read_only",
                tenant=tenant,
                data={"overdue_since": spell},
                schema_name=tenant.schema_name,
            )
            _email_owner(
                tenant,
                "billing_read_only",
                f"{tenant.name} is read-only until a payment goes through",
                {},
                dedupe_key=f"read-only:{tenant.pk}:{spell}",
            )
            recorded += 1
    return recorded

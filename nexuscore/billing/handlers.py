"""What each Stripe event does to our records (API version 2026-10-28.endive shapes).

Stripe delivers at least once and in any order, so every handler converges on Stripe's latest
state and applying an event twice changes nothing:

- Subscriptions remember the `created` time of the newest event applied to them
  (`metadata["stripe_event_created"]`); an older event is skipped, and a cancelled Stripe
  subscription stays cancelled.
- Invoices only move forward (open, then paid or void); an event describing an earlier state is
  skipped. Whichever invoice event comes first creates our Invoice row, with its number from our
  own gapless series, GST by tax_treatment(), and its PDF.
- Refunds carry the charge's cumulative refunded amount, so a credit note is issued only for
  what is not credited yet.

Which organisation an object belongs to is decided by the Stripe subscription and customer ids
we recorded, never by what the object says about itself: our tenant id in its metadata (or a
checkout's client_reference_id) only places an object we have no record of yet. Anyone with
access to our Stripe account can edit metadata, so when it names another organisation than our
records, OrganisationMismatch refuses the event for good and nothing changes (webhooks.py records
it and tells staff).

An event about something we cannot place yet (an organisation's subscription before its
checkout is recorded, say) raises NotYetKnown and is retried with backoff by webhooks.py.
"""

import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.template.loader import render_to_string
from django.utils import timezone

from nexuscore.audit.models import record_event
from nexuscore.billing import dunning, stripe_api
from nexuscore.billing.models import Invoice, Plan, Subscription, tax_treatment
from nexuscore.billing.pdf import open_invoice_pdf, store_invoice_pdf
from nexuscore.lib.logs import work_for
from nexuscore.mail.outbox import queue_email
from tenants.models import Tenant


class NotYetKnown(Exception):
    """The event refers to something we have not recorded yet (events arrive in any order):
    worth trying again later."""


class OrganisationMismatch(Exception):
    """The object names one organisation while the Stripe ids we recorded belong to another (or
    our records disagree among themselves): refused for good, for a person to look at, before
    anything changes in either organisation. `details` says who is who, for the audit log."""

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.details = details


class SubscriptionConflict(Exception):
    """Stripe has a second live subscription for an organisation that already has one: a person
    must look (and probably cancel one in Stripe) before anything is changed here."""


def _when(timestamp) -> datetime | None:
    return datetime.fromtimestamp(int(timestamp), UTC) if timestamp else None


def _named_tenants(*metadatas) -> set[Tenant]:
    """The organisations an object names by our tenant id in its metadata."""
    tenants = set()
    for metadata in metadatas:
        value = metadata.get("tenant_id") if isinstance(metadata, dict) else None
        try:
            tenant_id = uuid.UUID(str(value))
        except ValueError:
            continue
        tenant = Tenant.objects.filter(pk=tenant_id).first()
        if tenant is not None:
            tenants.add(tenant)
    return tenants


def _recorded_tenants(subscription_id: str, customer_id: str) -> set[Tenant]:
    """The organisations whose subscriptions we recorded with these Stripe ids (one, or none)."""
    ids = Q()
    if subscription_id:
        ids |= Q(subscriptions__stripe_subscription_id=subscription_id)
    if customer_id:
        ids |= Q(subscriptions__stripe_customer_id=customer_id)
    return set(Tenant.objects.filter(ids).distinct()) if ids else set()


def _names(tenants) -> list[str]:
    return sorted(tenant.schema_name for tenant in tenants)


def _working_for(tenant: Tenant) -> Tenant:
    """The event's organisation, named from here on in the task's log lines and error reports."""
    work_for(tenant.schema_name)
    return tenant


def _tenant_for(*, metadatas=(), subscription_id="", customer_id="", filed_under=None) -> Tenant:
    """The organisation a Stripe object belongs to: the one we recorded its subscription or
    customer for (or `filed_under`, where we filed the object itself before).

    Only an object we have no record of is placed by the tenant id in its metadata, and only
    when we have recorded no other Stripe customer for that organisation. A disagreement raises
    OrganisationMismatch; no organisation at all raises NotYetKnown.
    """
    recorded = _recorded_tenants(subscription_id, customer_id)
    if filed_under is not None:
        recorded.add(filed_under)
    named = _named_tenants(*metadatas)
    details = {
        "recorded": _names(recorded),
        "named": _names(named),
        "stripe_subscription": subscription_id,
        "stripe_customer": customer_id,
    }
    if len(recorded) > 1:
        raise OrganisationMismatch(
            f"our records place subscription {subscription_id!r} / customer {customer_id!r} "
            f"in {' and '.join(details['recorded'])}",
            **details,
        )
    if recorded and named and named != recorded:
        raise OrganisationMismatch(
            f"the metadata names {', '.join(details['named'])}, but we recorded subscription "
            f"{subscription_id!r} / customer {customer_id!r} for {details['recorded'][0]}",
            **details,
        )
    if recorded:
        return _working_for(recorded.pop())
    if len(named) > 1:
        raise OrganisationMismatch(
            f"the metadata names {' and '.join(details['named'])}", **details
        )
    if named:
        tenant = named.pop()
        customers = set(
            Subscription.objects.filter(tenant=tenant)
            .exclude(stripe_customer_id="")
            .values_list("stripe_customer_id", flat=True)
        )
        if customer_id and customers and customer_id not in customers:
            raise OrganisationMismatch(
                f"the metadata names {tenant.schema_name}, whose Stripe customer is "
                f"{', '.join(sorted(customers))}, not {customer_id!r}",
                **details,
            )
        return _working_for(tenant)
    raise NotYetKnown(
        f"no organisation for subscription {subscription_id!r} / customer {customer_id!r} yet"
    )


def _activate(tenant) -> None:
    """A payment activated the subscription: the trial, or the time without a plan, is over (the
    contract with tenants/middleware.py: no trial end date, no ended subscription)."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.trial_ends_at is not None or tenant.subscription_ended_at is not None:
        tenant.trial_ends_at = tenant.subscription_ended_at = None
        # Saving forgets the cached host, so every process sees it writable again.
        tenant.save(update_fields=["trial_ends_at", "subscription_ended_at", "updated_at"])


def _end_subscription(tenant, ended_at) -> None:
    """The organisation's last live subscription was cancelled: it is read-only until it pays
    for a plan again (without one its plan's limits would no longer apply)."""
    if Subscription.objects.live().filter(tenant=tenant).exists():
        return  # a new subscription is already on its way
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.subscription_ended_at is None:
        tenant.subscription_ended_at = ended_at
        tenant.save(update_fields=["subscription_ended_at", "updated_at"])


# --- Checkout and subscriptions ------------------------------------------------------------------


def _link_checkout(tenant, stripe_id: str, session: dict) -> None:
    """Give the organisation's live subscription the Stripe subscription its checkout made."""
    live = Subscription.objects.select_for_update().live().filter(tenant=tenant).first()
    if live is None:
        raise NotYetKnown(f"{tenant} has no subscription to link to {stripe_id}")
    if live.stripe_subscription_id:
        raise SubscriptionConflict(
            f"{tenant} already has {live.stripe_subscription_id}; checkout made {stripe_id}"
        )
    live.stripe_subscription_id = stripe_id
    live.stripe_customer_id = session.get("customer") or live.stripe_customer_id
    if session.get("payment_status") == "paid" and live.status in (
        Subscription.Status.TRIALING,
        Subscription.Status.INCOMPLETE,
    ):
        live.status = Subscription.Status.ACTIVE
    live.save()


def checkout_completed(event: dict) -> None:
    """checkout.session.completed: link the organisation's subscription to Stripe's."""
    session = event["data"]["object"]
    if session.get("mode") != "subscription" or not session.get("subscription"):
        return
    stripe_id = session["subscription"]
    tenant = _tenant_for(
        metadatas=[{"tenant_id": session.get("client_reference_id")}, session.get("metadata")],
        subscription_id=stripe_id,
        customer_id=session.get("customer") or "",
    )
    # A subscription event may have got here first and linked it already.
    if not Subscription.objects.filter(stripe_subscription_id=stripe_id).exists():
        _link_checkout(tenant, stripe_id, session)
    if session.get("payment_status") == "paid":
        _activate(tenant)
    record_event(
        "billing.checkout_completed",
        tenant=tenant,
        data={
            "stripe_subscription": stripe_id,
            "plan": (session.get("metadata") or {}).get("plan"),
        },
        schema_name=tenant.schema_name,
    )


STRIPE_STATUSES = {
    "trialing": Subscription.Status.TRIALING,
    "active": Subscription.Status.ACTIVE,
    "past_due": Subscription.Status.PAST_DUE,
    "canceled": Subscription.Status.CANCELED,
    "incomplete_expired": Subscription.Status.CANCELED,
    "unpaid": Subscription.Status.UNPAID,
    "paused": Subscription.Status.UNPAID,
    "incomplete": Subscription.Status.INCOMPLETE,
}


def _subscription_row(tenant, stripe_id: str, status: str) -> Subscription | None:
    """Our row for this Stripe subscription, locked: the one already linked, else the
    organisation's trial (which becomes the paid subscription); None means "make a new row"."""
    row = Subscription.objects.select_for_update().filter(stripe_subscription_id=stripe_id).first()
    if row is not None:
        return row
    live = Subscription.objects.select_for_update().live().filter(tenant=tenant).first()
    if live is None or status == Subscription.Status.CANCELED:
        return None
    if live.stripe_subscription_id:
        raise SubscriptionConflict(
            f"{tenant} already has {live.stripe_subscription_id}; Stripe also has {stripe_id}"
        )
    return live


def subscription_changed(event: dict) -> None:
    """customer.subscription.created / .updated / .deleted: bring our row to Stripe's state,
    unless a newer event already did."""
    stripe_sub = event["data"]["object"]
    stripe_id = stripe_sub["id"]
    created = int(event.get("created") or 0)
    status = STRIPE_STATUSES.get(stripe_sub.get("status"), Subscription.Status.INCOMPLETE)
    tenant = _tenant_for(
        metadatas=[stripe_sub.get("metadata")],
        subscription_id=stripe_id,
        customer_id=stripe_sub.get("customer") or "",
    )
    items = (stripe_sub.get("items") or {}).get("data") or [{}]
    item = items[0]  # one plan per subscription; since basil the period sits on the item
    price_id = (item.get("price") or {}).get("id", "")
    plan = Plan.objects.filter(stripe_price_id=price_id).first() if price_id else None

    row = _subscription_row(tenant, stripe_id, status)
    if row is None:
        if plan is None:
            raise NotYetKnown(f"no plan has the Stripe price {price_id!r}")
        row = Subscription(tenant=tenant, plan=plan)
    else:
        if created < row.metadata.get("stripe_event_created", 0):
            return  # an older picture of the subscription than the one we have
        if row.status == Subscription.Status.CANCELED and row.stripe_subscription_id == stripe_id:
            return  # a cancelled Stripe subscription never comes back
    became_active = status == Subscription.Status.ACTIVE and row.status != status
    row.stripe_subscription_id = stripe_id
    row.stripe_customer_id = stripe_sub.get("customer") or row.stripe_customer_id
    row.plan = plan or row.plan
    row.status = status
    row.cancel_at_period_end = bool(stripe_sub.get("cancel_at_period_end"))
    row.current_period_start = _when(item.get("current_period_start")) or row.current_period_start
    row.current_period_end = _when(item.get("current_period_end")) or row.current_period_end
    row.trial_start = _when(stripe_sub.get("trial_start")) or row.trial_start
    row.trial_end = _when(stripe_sub.get("trial_end")) or row.trial_end
    row.canceled_at = _when(stripe_sub.get("canceled_at")) if status == "canceled" else None
    row.metadata = {**row.metadata, "stripe_event_created": created}
    row.save()
    if became_active:
        _activate(tenant)
    if status == Subscription.Status.CANCELED:
        _end_subscription(tenant, row.canceled_at or timezone.now())
    record_event(
        f"billing.subscription_{event['type'].rsplit('.', 1)[-1]}",
        tenant=tenant,
        data={"stripe_subscription": stripe_id, "status": status, "plan": row.plan.sku},
        schema_name=tenant.schema_name,
    )


def trial_will_end(event: dict) -> None:
    """customer.subscription.trial_will_end: Stripe's notice, three days ahead, kept in the
    organisation's activity log. The subscription may not be linked yet: try again later."""
    stripe_sub = event["data"]["object"]
    subscription = (
        Subscription.objects.filter(stripe_subscription_id=stripe_sub.get("id", ""))
        .select_related("tenant")
        .first()
    )
    if subscription is None:
        raise NotYetKnown(f"no subscription {stripe_sub.get('id')!r} yet")
    record_event(
        "billing.trial_will_end",
        tenant=subscription.tenant,
        data={"stripe_subscription": subscription.stripe_subscription_id},
        schema_name=subscription.tenant.schema_name,
    )


# --- Invoices ------------------------------------------------------------------------------------


def _stripe_subscription_of(stripe_invoice: dict) -> tuple[str, dict]:
    """The invoice's subscription id and metadata (under parent.subscription_details since
    basil)."""
    details = (stripe_invoice.get("parent") or {}).get("subscription_details") or {}
    subscription = details.get("subscription") or ""
    if isinstance(subscription, dict):
        subscription = subscription.get("id", "")
    return subscription, details.get("metadata") or {}


def _line_items(stripe_invoice: dict) -> list[dict]:
    return [
        {"description": line.get("description") or "NexusCore", "amount_cents": line["amount"]}
        for line in (stripe_invoice.get("lines") or {}).get("data") or []
    ]


def _record_invoice(stripe_invoice: dict) -> Invoice:
    """Our Invoice for a Stripe invoice, locked; created, numbered and rendered the first time.

    The subtotal is Stripe's (before tax); GST is ours, by tax_treatment(), computed by the
    database. Stripe's own number and total are kept in the metadata for reconciliation.
    """
    invoice = (
        Invoice.objects.select_for_update()
        .filter(stripe_invoice_id=stripe_invoice["id"])
        .select_related("tenant")
        .first()
    )
    subscription_id, subscription_metadata = _stripe_subscription_of(stripe_invoice)
    tenant = _tenant_for(
        metadatas=[subscription_metadata, stripe_invoice.get("metadata")],
        subscription_id=subscription_id,
        customer_id=stripe_invoice.get("customer") or "",
        filed_under=invoice.tenant if invoice is not None else None,
    )
    if invoice is not None:
        if invoice.subscription_id is None and subscription_id:
            # Recorded before the subscription was linked (events arrive in any order).
            invoice.subscription = Subscription.objects.filter(
                stripe_subscription_id=subscription_id
            ).first()
            if invoice.subscription is not None:
                invoice.save(update_fields=["subscription", "updated_at"])
        return invoice
    subscription = (
        Subscription.objects.filter(stripe_subscription_id=subscription_id).first()
        if subscription_id
        else None
    )
    tax_code, gst_rate = tax_treatment(tenant)
    subtotal = stripe_invoice.get("subtotal_excluding_tax")
    if subtotal is None:
        subtotal = stripe_invoice.get("subtotal") or 0
    due = _when(stripe_invoice.get("due_date"))
    try:
        with transaction.atomic():
            invoice = Invoice.objects.create(
                tenant=tenant,
                subscription=subscription,
                currency=(stripe_invoice.get("currency") or "sgd").upper(),
                tax_code=tax_code,
                gst_rate=gst_rate,
                subtotal_cents=subtotal,
                line_items=_line_items(stripe_invoice),
                due_date=due.date() if due else None,
                stripe_invoice_id=stripe_invoice["id"],
                metadata={
                    "stripe_number": stripe_invoice.get("number"),
                    "stripe_total": stripe_invoice.get("total"),
                    "stripe_customer": stripe_invoice.get("customer"),
                },
            )
    except IntegrityError:
        # Another worker recorded it a moment ago: use theirs.
        return Invoice.objects.select_for_update().get(stripe_invoice_id=stripe_invoice["id"])
    finalised_at = _when((stripe_invoice.get("status_transitions") or {}).get("finalized_at"))
    invoice.finalise(now=finalised_at or timezone.now())
    invoice.refresh_from_db()  # the generated GST and total
    store_invoice_pdf(invoice)
    invoice.refresh_from_db()
    record_event(
        "billing.invoice_issued",
        tenant=tenant,
        data={"invoice": invoice.number, "stripe_invoice": invoice.stripe_invoice_id},
        schema_name=tenant.schema_name,
    )
    return invoice


def invoice_finalized(event: dict) -> None:
    """invoice.finalized: issue our tax invoice (number, GST, PDF)."""
    if event["data"]["object"].get("status") == "draft":
        return
    _record_invoice(event["data"]["object"])


def _email_paid_invoice(invoice) -> None:
    """Send the tax invoice PDF to the billing contact, once per invoice."""
    if invoice.metadata.get("emailed_to"):
        return
    tenant = invoice.tenant
    recipient = tenant.billing_email or (tenant.owner.email if tenant.owner else "")
    if not recipient:
        return
    context = {"invoice": invoice, "tenant": tenant, "total": Decimal(invoice.total_cents) / 100}
    with open_invoice_pdf(invoice) as pdf:
        queue_email(
            subject=f"Tax invoice {invoice.number} from NexusCore (paid)",
            body=render_to_string("emails/billing_invoice_paid.txt", context),
            to=[recipient],
            attachments=[(f"{invoice.number}.pdf", pdf.read(), "application/pdf")],
            dedupe_key=f"invoice-paid:{invoice.pk}",
            schema_name=tenant.schema_name,
        )
    invoice.metadata = {**invoice.metadata, "emailed_to": recipient}
    invoice.save(update_fields=["metadata", "updated_at"])


def invoice_paid(event: dict) -> None:
    """invoice.paid: the invoice is paid, the organisation is active and writable at once, and
    the billing contact gets the tax invoice."""
    stripe_invoice = event["data"]["object"]
    invoice = _record_invoice(stripe_invoice)
    tenant = invoice.tenant
    if invoice.status not in (Invoice.Status.PAID, Invoice.Status.VOID):
        invoice.status = Invoice.Status.PAID
        invoice.amount_paid_cents = stripe_invoice.get("amount_paid") or invoice.total_cents
        paid_at = _when((stripe_invoice.get("status_transitions") or {}).get("paid_at"))
        invoice.paid_at = paid_at or timezone.now()
        invoice.save(update_fields=["status", "amount_paid_cents", "paid_at", "updated_at"])
        record_event(
            "billing.invoice_paid",
            tenant=tenant,
            data={"invoice": invoice.number, "total_cents": invoice.total_cents},
            schema_name=tenant.schema_name,
        )
    if invoice.subscription_id:
        subscription = Subscription.objects.select_for_update().get(pk=invoice.subscription_id)
        created = int(event.get("created") or 0)
        if subscription.status in (
            Subscription.Status.PAST_DUE,
            Subscription.Status.UNPAID,
            Subscription.Status.INCOMPLETE,
            Subscription.Status.TRIALING,
        ) and created >= subscription.metadata.get("stripe_event_created", 0):
            subscription.status = Subscription.Status.ACTIVE
            subscription.metadata = {**subscription.metadata, "stripe_event_created": created}
            subscription.save()
    _activate(tenant)
    dunning.record_payment_received(tenant)
    _email_paid_invoice(invoice)


def invoice_payment_failed(event: dict) -> None:
    """invoice.payment_failed: dunning starts (or goes on), unless the invoice is settled."""
    stripe_invoice = event["data"]["object"]
    invoice = _record_invoice(stripe_invoice)
    if invoice.status in (Invoice.Status.PAID, Invoice.Status.VOID):
        return  # a late report of an attempt before the one that succeeded
    subscription = (
        Subscription.objects.select_for_update().filter(pk=invoice.subscription_id).first()
        if invoice.subscription_id
        else None
    )
    failed_at = _when(event.get("created")) or timezone.now()
    dunning.record_payment_failed(invoice.tenant, subscription, invoice, failed_at)


def invoice_voided(event: dict) -> None:
    """invoice.voided: the invoice keeps its number (the series has no gaps) and is void."""
    invoice = _record_invoice(event["data"]["object"])
    if invoice.status == Invoice.Status.VOID:
        return
    invoice.status = Invoice.Status.VOID
    invoice.save(update_fields=["status", "updated_at"])
    record_event(
        "billing.invoice_voided",
        tenant=invoice.tenant,
        data={"invoice": invoice.number},
        schema_name=invoice.tenant.schema_name,
    )


# --- Refunds -------------------------------------------------------------------------------------


def charge_refunded(event: dict) -> None:
    """charge.refunded: a credit note for whatever of the refund is not credited yet.

    `amount_refunded` is the charge's total refunded so far, so two refunds, the same event
    twice or events out of order all end with credit notes adding up to the refunds. A full
    refund credits the invoice's remaining subtotal exactly; a partial one is split into
    subtotal and GST at the invoice's rate, half up to the cent.
    """
    charge = event["data"]["object"]
    payment_intent = charge.get("payment_intent") or ""
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id", "")
    if not payment_intent:
        return  # not a subscription payment of ours
    invoice = Invoice.objects.filter(
        stripe_payment_intent=payment_intent, kind=Invoice.Kind.INVOICE
    ).first()
    if invoice is None:
        stripe_invoice_id = stripe_api.invoice_for_payment_intent(payment_intent)
        invoice = Invoice.objects.filter(stripe_invoice_id=stripe_invoice_id or "-").first()
        if invoice is None:
            raise NotYetKnown(f"no invoice paid by {payment_intent!r} yet")
    invoice = Invoice.objects.select_for_update().select_related("tenant").get(pk=invoice.pk)
    if not invoice.stripe_payment_intent:
        invoice.stripe_payment_intent = payment_intent
        invoice.save(update_fields=["stripe_payment_intent", "updated_at"])
    credited = invoice.credit_notes.aggregate(
        total=Sum("total_cents"), subtotal=Sum("subtotal_cents")
    )
    credited_total = -(credited["total"] or 0)
    credited_subtotal = -(credited["subtotal"] or 0)
    to_credit = int(charge.get("amount_refunded") or 0) - credited_total
    if to_credit <= 0:
        return
    if credited_total + to_credit >= invoice.total_cents:
        subtotal = invoice.subtotal_cents - credited_subtotal
    else:
        subtotal = int(
            (Decimal(to_credit) / (1 + invoice.gst_rate)).quantize(Decimal("1"), ROUND_HALF_UP)
        )
    now = timezone.now()
    note = Invoice.objects.create(
        tenant=invoice.tenant,
        subscription=invoice.subscription,
        kind=Invoice.Kind.CREDIT_NOTE,
        credit_note_for=invoice,
        currency=invoice.currency,
        tax_code=invoice.tax_code,
        gst_rate=invoice.gst_rate,
        subtotal_cents=-subtotal,
        line_items=[
            {
                "description": f"Refund against tax invoice {invoice.number}",
                "amount_cents": -subtotal,
            }
        ],
        metadata={"stripe_charge": charge.get("id"), "refunded_cents": to_credit},
    )
    note.finalise(now=now)
    note.refresh_from_db()
    note.status, note.paid_at, note.amount_paid_cents = Invoice.Status.PAID, now, note.total_cents
    note.save(update_fields=["status", "paid_at", "amount_paid_cents", "updated_at"])
    store_invoice_pdf(note)
    record_event(
        "billing.credit_note_issued",
        tenant=invoice.tenant,
        data={
            "credit_note": note.number,
            "invoice": invoice.number,
            "total_cents": note.total_cents,
        },
        schema_name=invoice.tenant.schema_name,
    )


HANDLERS = {
    "checkout.session.completed": checkout_completed,
    "customer.subscription.created": subscription_changed,
    "customer.subscription.updated": subscription_changed,
    "customer.subscription.deleted": subscription_changed,
    "customer.subscription.trial_will_end": trial_will_end,
    "invoice.finalized": invoice_finalized,
    "invoice.paid": invoice_paid,
    "invoice.payment_failed": invoice_payment_failed,
    "invoice.voided": invoice_voided,
    "charge.refunded": charge_refunded,
}

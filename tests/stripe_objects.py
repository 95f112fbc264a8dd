"""Stripe objects for the billing tests, written here from Stripe's API reference for API version
2026-10-28.endive (the version the SDK pins).

Each builder returns a fresh object with the fields NexusCore reads and the identifying fields
Stripe always sends (id, object, created, livemode, metadata), and nothing more: the fake Stripe
answers with them and the webhook payloads carry them, so the billing tests need nothing from
outside the repository. Defaults describe an organisation on the Growth plan, billed in SGD,
whose Stripe ids we have not recorded (tests pass the ids they need).

tests/test_stripe_reference.py checks every builder against Stripe's own example objects
wherever Stripe's example objects lie beside the repository (as in CI).
"""

import time

API_VERSION = "2026-10-28.endive"
NOW = int(time.time())
DAY = 24 * 3600


def _list(data: list, url: str) -> dict:
    return {"object": "list", "data": data, "has_more": False, "url": url}


def _metadata(tenant_id) -> dict:
    # Our Checkout puts the organisation's id in the session's and the subscription's metadata.
    return {"tenant_id": str(tenant_id)} if tenant_id else {}


def price(*, id="price_test_growth_month", unit_amount=14900, **changes) -> dict:
    return {
        "id": id,
        "object": "price",
        "active": True,
        "created": NOW,
        "currency": "sgd",
        "livemode": False,
        "metadata": {},
        "product": "prod_test_nexuscore",
        "recurring": {"interval": "month", "interval_count": 1},
        "type": "recurring",
        "unit_amount": unit_amount,
        **changes,
    }


def subscription_item(
    *,
    id="si_test_example",
    subscription="sub_test_example",
    price_id="price_test_growth_month",
    period_start=NOW,
    period_end=NOW + 30 * DAY,
    **changes,
) -> dict:
    """An item of a subscription: since API 2025-03-31.basil it carries the current period."""
    return {
        "id": id,
        "object": "subscription_item",
        "created": NOW,
        "current_period_end": period_end,
        "current_period_start": period_start,
        "metadata": {},
        "price": price(id=price_id),
        "quantity": 1,
        "subscription": subscription,
        **changes,
    }


def subscription(
    *,
    id="sub_test_example",
    customer="cus_test_example",
    status="active",
    price_id="price_test_growth_month",
    period_start=NOW,
    period_end=NOW + 30 * DAY,
    tenant_id=None,
    **changes,
) -> dict:
    """A subscription with one item (one plan); `tenant_id` goes in its metadata."""
    item = subscription_item(
        subscription=id, price_id=price_id, period_start=period_start, period_end=period_end
    )
    return {
        "id": id,
        "object": "subscription",
        "cancel_at_period_end": False,
        "canceled_at": None,
        "created": NOW,
        "currency": "sgd",
        "customer": customer,
        "items": _list([item], f"/v1/subscription_items?subscription={id}"),
        "livemode": False,
        "metadata": _metadata(tenant_id),
        "start_date": NOW,
        "status": status,
        "trial_end": None,
        "trial_start": None,
        **changes,
    }


def line_item(
    *,
    id="il_test_example",
    invoice="in_test_example",
    amount=14900,
    description="NexusCore Growth (monthly)",
    **changes,
) -> dict:
    return {
        "id": id,
        "object": "line_item",
        "amount": amount,
        "currency": "sgd",
        "description": description,
        "invoice": invoice,
        "livemode": False,
        "metadata": {},
        "period": {"end": NOW + 30 * DAY, "start": NOW},
        "quantity": 1,
        **changes,
    }


def invoice(
    *,
    id="in_test_example",
    customer="cus_test_example",
    subscription="sub_test_example",
    status="open",
    subtotal=14900,
    tenant_id=None,
    **changes,
) -> dict:
    """A subscription's invoice with one line, before tax (GST is ours to add). Since basil the
    subscription and a copy of its metadata sit under parent.subscription_details."""
    paid = status == "paid"
    return {
        "id": id,
        "object": "invoice",
        "amount_due": subtotal,
        "amount_paid": subtotal if paid else 0,
        "amount_remaining": 0 if paid else subtotal,
        "created": NOW,
        "currency": "sgd",
        "customer": customer,
        "due_date": None,
        "lines": _list([line_item(invoice=id, amount=subtotal)], f"/v1/invoices/{id}/lines"),
        "livemode": False,
        "metadata": {},
        "number": None if status == "draft" else "STRIPE-0001",
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {
                "metadata": _metadata(tenant_id),
                "subscription": subscription,
            },
        },
        "status": status,
        "status_transitions": {
            "finalized_at": None if status == "draft" else NOW,
            "marked_uncollectible_at": None,
            "paid_at": NOW if paid else None,
            "voided_at": NOW if status == "void" else None,
        },
        "subtotal": subtotal,
        "subtotal_excluding_tax": subtotal,
        "total": subtotal,
        "total_excluding_tax": subtotal,
        **changes,
    }


def checkout_session(*, id="cs_test_example", tenant_id=None, **changes) -> dict:
    """A subscription-mode Checkout Session, still open; `tenant_id` is its client reference
    and in its metadata, as our Checkout sends it."""
    return {
        "id": id,
        "object": "checkout.session",
        "client_reference_id": str(tenant_id) if tenant_id else None,
        "created": NOW,
        "customer": None,
        "expires_at": NOW + DAY,
        "livemode": False,
        "metadata": _metadata(tenant_id),
        "mode": "subscription",
        "payment_status": "unpaid",
        "status": "open",
        "subscription": None,
        "url": f"https://checkout.stripe.com/c/pay/{id}",
        **changes,
    }


def billing_portal_session(*, id="bps_test_example", **changes) -> dict:
    return {
        "id": id,
        "object": "billing_portal.session",
        "created": NOW,
        "customer": "cus_test_example",
        "livemode": False,
        "return_url": "http://acme.localhost/billing/",
        "url": f"https://billing.stripe.com/p/session/{id}",
        **changes,
    }


def customer(*, id="cus_test_example", **changes) -> dict:
    return {
        "id": id,
        "object": "customer",
        "created": NOW,
        "email": None,
        "livemode": False,
        "metadata": {},
        "name": None,
        **changes,
    }


def charge(*, id="ch_test_example", amount=16241, **changes) -> dict:
    """A card payment of an invoice; `amount_refunded` is the total refunded so far."""
    return {
        "id": id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "created": NOW,
        "currency": "sgd",
        "customer": "cus_test_example",
        "livemode": False,
        "metadata": {},
        "paid": True,
        "payment_intent": "pi_test_example",
        "refunded": False,
        "status": "succeeded",
        **changes,
    }


def invoice_payment(*, id="inpay_test_example", invoice="in_test_example", **changes) -> dict:
    """What links a payment intent to the invoice it paid (charges stopped naming it in basil)."""
    return {
        "id": id,
        "object": "invoice_payment",
        "amount_paid": 16241,
        "amount_requested": 16241,
        "created": NOW,
        "currency": "sgd",
        "invoice": invoice,
        "is_default": True,
        "livemode": False,
        "status": "paid",
        **changes,
    }


def event(
    *, type="price.created", data_object=None, id="evt_test_example", created=NOW, **changes
) -> dict:
    return {
        "id": id,
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": {"object": data_object if data_object is not None else price()},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
        **changes,
    }


# By the name Stripe gives each object in its `object` field.
BUILDERS = {
    "billing_portal.session": billing_portal_session,
    "charge": charge,
    "checkout.session": checkout_session,
    "customer": customer,
    "event": event,
    "invoice": invoice,
    "invoice_payment": invoice_payment,
    "line_item": line_item,
    "price": price,
    "subscription": subscription,
    "subscription_item": subscription_item,
}


def build(resource: str, **changes) -> dict:
    """A new `resource` object; `changes` are its builder's arguments or top-level fields."""
    if resource not in BUILDERS:
        raise LookupError(f"no builder for Stripe's {resource!r} yet: add one to {__name__}")
    return BUILDERS[resource](**changes)

"""Every call NexusCore makes to Stripe goes through this module.

It uses the official SDK's StripeClient with the API version the SDK pins (16.x:
`2026-10-28.endive`), the secret key from settings.STRIPE_SECRET_KEY and the address from
settings.STRIPE_API_BASE (tests point it at a local fake Stripe). Every POST carries an
idempotency key, so the SDK may retry one that failed on the network
(settings.STRIPE_MAX_NETWORK_RETRIES) without creating anything twice. Whatever goes wrong comes
back as BillingUnavailable, whose message can be shown to the person as it is.
"""

import logging

import stripe
from django.conf import settings

log = logging.getLogger(__name__)


class BillingUnavailable(Exception):
    """Stripe could not be used; str(error) is a message for the person."""


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def stripe_client() -> stripe.StripeClient:
    if not is_configured():
        raise BillingUnavailable("Billing is not configured on this NexusCore installation.")
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def _call(description: str, method, params: dict, idempotency_key: str | None = None):
    """Run one SDK call, turning Stripe's errors into a message a person understands."""
    options = {"idempotency_key": idempotency_key} if idempotency_key else None
    try:
        return method(params, options)
    except stripe.APIConnectionError as error:
        log.warning("stripe: %s: cannot connect: %s", description, error)
        raise BillingUnavailable(
            "We could not reach Stripe, our payment provider, so nothing was changed or "
            "charged. Please try again in a minute."
        ) from error
    except stripe.StripeError as error:
        log.error("stripe: %s failed: %r", description, error)
        raise BillingUnavailable(
            "Stripe, our payment provider, could not do this just now, so nothing was changed or "
            "charged. Please try again later; if it keeps happening, write to us."
        ) from error


def ensure_customer(subscription) -> str:
    """The organisation's Stripe customer id, creating the customer the first time.

    The idempotency key is the organisation's id: two clicks, or a retry after our own save
    failed, get the same customer from Stripe (it remembers keys for 24 hours).
    """
    if subscription.stripe_customer_id:
        return subscription.stripe_customer_id
    tenant = subscription.tenant
    email = tenant.billing_email or (tenant.owner.email if tenant.owner else "")
    params = {
        "name": tenant.name,
        "metadata": {"tenant_id": str(tenant.pk), "schema": tenant.schema_name},
    }
    if email:
        params["email"] = email
    customer = _call(
        "create customer",
        stripe_client().v1.customers.create,
        params,
        f"nexuscore-customer-{tenant.pk}",
    )
    type(subscription).objects.filter(pk=subscription.pk).update(stripe_customer_id=customer.id)
    subscription.stripe_customer_id = customer.id
    return customer.id


def create_checkout_session(
    subscription, plan, *, success_url: str, cancel_url: str, idempotency_key: str
) -> str:
    """A Checkout Session (subscription mode) for `plan`; returns the address to send the
    person to. The organisation's id travels as client_reference_id and in the metadata of
    the session and of the subscription Stripe creates, so every later event names it."""
    if not plan.stripe_price_id:
        raise BillingUnavailable(f"{plan.name} cannot be bought online yet; please write to us.")
    tenant = subscription.tenant
    customer = ensure_customer(subscription)
    metadata = {"tenant_id": str(tenant.pk), "plan": plan.sku}
    subscription_data = {"metadata": metadata}
    from nexuscore.billing.models import TaxCode, tax_treatment

    if settings.STRIPE_GST_TAX_RATE and tax_treatment(tenant)[0] == TaxCode.SR:
        subscription_data["default_tax_rates"] = [settings.STRIPE_GST_TAX_RATE]
    session = _call(
        "create checkout session",
        stripe_client().v1.checkout.sessions.create,
        {
            "mode": "subscription",
            "customer": customer,
            "line_items": [{"price": plan.stripe_price_id, "quantity": 1}],
            "client_reference_id": str(tenant.pk),
            "metadata": metadata,
            "subscription_data": subscription_data,
            "success_url": success_url,
            "cancel_url": cancel_url,
        },
        f"nexuscore-checkout-{tenant.pk}-{idempotency_key}",
    )
    return session.url


def create_portal_session(subscription, *, return_url: str, idempotency_key: str) -> str:
    """A Customer Portal session (change plan or card, cancel); returns its address."""
    if not subscription.stripe_customer_id:
        raise BillingUnavailable("There is no paid plan to manage yet; choose a plan first.")
    session = _call(
        "create portal session",
        stripe_client().v1.billing_portal.sessions.create,
        {"customer": subscription.stripe_customer_id, "return_url": return_url},
        f"nexuscore-portal-{subscription.tenant_id}-{idempotency_key}",
    )
    return session.url


def invoice_for_payment_intent(payment_intent: str) -> str | None:
    """The Stripe invoice a payment intent paid (charges no longer name their invoice since
    API 2025-03-31.basil; invoice payments link the two). A read: safe to retry."""
    payments = _call(
        "list invoice payments",
        stripe_client().v1.invoice_payments.list,
        {"payment": {"type": "payment_intent", "payment_intent": payment_intent}, "limit": 1},
    )
    for payment in payments.data:
        return payment.invoice if isinstance(payment.invoice, str) else payment.invoice.id
    return None

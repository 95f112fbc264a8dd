"""Billing pages on an organisation's host.

- /billing/ (owners and admins, `billing.view`): plan, status, period, next invoice, recent
  invoices, usage link; owners (`billing.manage`) upgrade through Stripe Checkout and manage the
  card, plan or cancellation in the Stripe Customer Portal. Both POSTs take an idempotency key
  from the form, so a double click opens one Checkout Session.
- /invoices/, /invoices/<id>/ and its PDF (`invoices.view`: every role by default). Invoices
  live in the public schema; each view reaches them only through this organisation's, so
  another organisation's invoice id is a 404.

With no Stripe key configured the pages say billing is not configured and the buttons are off.
"""

import re
import uuid
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from nexuscore.billing import stripe_api
from nexuscore.billing.idempotency import run_once
from nexuscore.billing.models import Invoice, Plan, Subscription, tax_treatment
from nexuscore.billing.pdf import dollars, open_invoice_pdf
from tenants.decorators import require_permission
from tenants.middleware import current_membership

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
RECENT_INVOICES = 5


def _subscription_for(tenant) -> Subscription | None:
    """The organisation's live subscription, else its latest (cancelled) one."""
    subscriptions = Subscription.objects.filter(tenant=tenant).select_related("plan", "tenant")
    return subscriptions.live().first() or subscriptions.first()


def _get_invoice_for_tenant(request, invoice_id) -> Invoice:
    return get_object_or_404(
        Invoice.objects.for_tenant(request.tenant).exclude(status=Invoice.Status.DRAFT),
        pk=invoice_id,
    )


def _next_invoice(tenant, subscription) -> dict | None:
    """When the next invoice comes and roughly what it will be (the plan's price with GST as
    tax_treatment() applies it)."""
    if subscription is None or subscription.status not in (
        Subscription.Status.ACTIVE,
        Subscription.Status.PAST_DUE,
    ):
        return None
    if subscription.cancel_at_period_end or subscription.current_period_end is None:
        return None
    _, rate = tax_treatment(tenant)
    plan = subscription.plan
    total = (plan.amount * (1 + rate)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return {"date": subscription.current_period_end, "amount": total, "currency": plan.currency}


def _billing_context(request, **extra) -> dict:
    tenant = request.tenant
    subscription = _subscription_for(tenant)
    overdue_since = tenant.payment_overdue_since
    return {
        "configured": stripe_api.is_configured(),
        "can_manage": current_membership(request).has_permission("billing.manage"),
        "subscription": subscription,
        "plans": list(Plan.objects.on_sale()),
        "next_invoice": _next_invoice(tenant, subscription),
        "invoices": list(
            Invoice.objects.for_tenant(tenant).exclude(status=Invoice.Status.DRAFT)[
                :RECENT_INVOICES
            ]
        ),
        "overdue_since": overdue_since,
        "read_only_from": (
            overdue_since + timedelta(days=settings.BILLING_GRACE_DAYS) if overdue_since else None
        ),
        "idempotency_key": uuid.uuid4().hex,
        "checkout_result": request.GET.get("checkout", ""),
        **extra,
    }


@require_GET
@require_permission("billing.view")
def billing(request):
    return render(request, "billing/billing.html", _billing_context(request))


def _idempotency_key(request) -> str:
    """The form's key; a missing or malformed one gets a fresh key (no protection, no error)."""
    key = request.POST.get("idempotency_key", "")
    return key if KEY_PATTERN.match(key) else uuid.uuid4().hex


def _not_configured(request):
    messages.error(request, "Billing is not configured on this NexusCore installation.")
    return redirect("billing")


def _unavailable(request, error) -> object:
    """The billing page again, saying what went wrong; 503, so the answer is not kept for the
    idempotency key and trying again really tries again."""
    context = _billing_context(request, error=str(error))
    return render(request, "billing/billing.html", context, status=503)


@require_POST
@require_permission("billing.manage")
def checkout(request):
    """Start Stripe Checkout for the chosen plan and send the owner there."""
    plan = Plan.objects.on_sale().filter(sku=request.POST.get("plan", "")).first()
    if plan is None:
        messages.error(request, "Choose one of the plans listed.")
        return redirect("billing")
    if not stripe_api.is_configured():
        return _not_configured(request)
    key = _idempotency_key(request)

    def start_checkout():
        subscription = (
            Subscription.objects.live()
            .filter(tenant=request.tenant)
            .select_related("tenant")
            .first()
        )
        if subscription is None:  # the last one was cancelled: a new one starts here
            subscription = Subscription(tenant=request.tenant, plan=plan)
            previous = Subscription.objects.filter(tenant=request.tenant).first()
            subscription.stripe_customer_id = previous.stripe_customer_id if previous else ""
            subscription.status = Subscription.Status.INCOMPLETE
            subscription.save()
        try:
            url = stripe_api.create_checkout_session(
                subscription,
                plan,
                success_url=request.build_absolute_uri(reverse("billing") + "?checkout=done"),
                cancel_url=request.build_absolute_uri(reverse("billing") + "?checkout=cancelled"),
                idempotency_key=key,
            )
        except stripe_api.BillingUnavailable as error:
            return _unavailable(request, error)
        return redirect(url)

    return run_once(request, key, {"plan": plan.sku}, start_checkout, back_url=reverse("billing"))


@require_POST
@require_permission("billing.manage")
def portal(request):
    """Open the Stripe Customer Portal: change plan or card, cancel."""
    if not stripe_api.is_configured():
        return _not_configured(request)
    subscription = _subscription_for(request.tenant)
    if subscription is None or not subscription.stripe_customer_id:
        messages.error(request, "There is no paid plan to manage yet; choose a plan first.")
        return redirect("billing")
    try:
        url = stripe_api.create_portal_session(
            subscription,
            return_url=request.build_absolute_uri(reverse("billing")),
            idempotency_key=_idempotency_key(request),
        )
    except stripe_api.BillingUnavailable as error:
        return _unavailable(request, error)
    return redirect(url)


@require_GET
@require_permission("invoices.view")
def invoice_list(request):
    invoices = (
        Invoice.objects.for_tenant(request.tenant)
        .exclude(status=Invoice.Status.DRAFT)
        .select_related("credit_note_for")
    )
    return render(request, "billing/invoices.html", {"invoices": invoices})


@require_GET
@require_permission("invoices.view")
def invoice_detail(request, invoice_id):
    invoice = _get_invoice_for_tenant(request, invoice_id)
    lines = [
        {"description": line.get("description", ""), "amount": dollars(line.get("amount_cents", 0))}
        for line in invoice.line_items
    ]
    context = {
        "invoice": invoice,
        "lines": lines,
        "subtotal": dollars(invoice.subtotal_cents),
        "gst": dollars(invoice.gst_amount_cents),
        "total": dollars(invoice.total_cents),
        "gst_percent": (invoice.gst_rate * 100).normalize(),
    }
    return render(request, "billing/invoice.html", context)


@require_GET
@require_permission("invoices.view")
def invoice_pdf(request, invoice_id):
    invoice = _get_invoice_for_tenant(request, invoice_id)
    if not invoice.pdf:
        raise Http404("This invoice has no PDF yet.")
    return FileResponse(
        open_invoice_pdf(invoice),
        as_attachment=True,
        filename=f"{invoice.number}.pdf",
        content_type="application/pdf",
    )

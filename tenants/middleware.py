"""Request routing by host, and what a request may do inside an organisation.

TenantMiddleware picks the schema from the host name. Looking the host up in the database on
every request costs as much as the page itself, so each process remembers the answer for
settings.TENANT_CACHE_SECONDS (changes made in the same process are seen at once).
"""

import copy
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.shortcuts import render
from django.utils import timezone
from django_tenants.middleware.main import TenantMainMiddleware

from tenants.models import Membership, Tenant, memberships_of

_hosts: dict[str, tuple[float, Tenant]] = {}
_hosts_lock = threading.Lock()


def forget_hosts():
    with _hosts_lock:
        _hosts.clear()


class TenantMiddleware(TenantMainMiddleware):
    def get_tenant(self, domain_model, hostname):
        now = time.monotonic()
        cached = _hosts.get(hostname)
        if cached is None or cached[0] < now:
            tenant = super().get_tenant(domain_model, hostname)
            if tenant.trial_ends_at is not None:
                tenant.trial_plan_name  # noqa: B018  (read now: the copies below carry it)
            with _hosts_lock:
                _hosts[hostname] = (now + settings.TENANT_CACHE_SECONDS, tenant)
            cached = _hosts[hostname]
        # A copy per request: the middleware sets attributes on it.
        return copy.copy(cached[1])


def user_memberships(request) -> list[Membership]:
    """The signed-in person's memberships in organisations that are not closed, by organisation
    name (one query per request, then cached). The layout's organisation switcher lists them and
    current_membership() picks this host's from them."""
    if not hasattr(request, "_memberships"):
        user = getattr(request, "user", None)  # absent on pages answered before authentication
        memberships = []
        if user is not None and user.is_authenticated:
            memberships = memberships_of(user)
        request._memberships = memberships
    return request._memberships


def current_membership(request) -> Membership | None:
    """The signed-in person's membership in this host's organisation, or None."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.is_public:
        return None
    return next((m for m in user_memberships(request) if m.tenant_id == tenant.pk), None)


SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Writable even when the organisation is read-only: signing in and out, and what the PDPA
# obliges it to accept whatever its account's state: a person asking for their data, confirming
# that request, or withdrawing consent.
ALWAYS_WRITABLE = ("/accounts/", "/privacy/request/", "/privacy/withdraw/")


def trial_has_ended(tenant) -> bool:
    """Whether the organisation's free trial is over without a payment.

    Contract with billing: `Tenant.trial_ends_at` is set when a trial starts and cleared (set to
    None) when a payment activates the subscription. A date in the past therefore means "trial
    over, nothing paid". Reading the tenant row (already cached per host) costs no query.
    """
    return tenant.trial_ends_at is not None and tenant.trial_ends_at <= timezone.now()


def payment_grace_has_ended(tenant) -> bool:
    """Whether a payment has been overdue for longer than the grace period.

    Contract with billing (nexuscore/billing/dunning.py): `Tenant.payment_overdue_since` is set
    when a payment fails and cleared when one succeeds; the organisation stays writable for
    settings.BILLING_GRACE_DAYS after it. Like the trial, read from the cached tenant row.
    """
    since = tenant.payment_overdue_since
    return since is not None and since + timedelta(days=settings.BILLING_GRACE_DAYS) <= (
        timezone.now()
    )


class MembershipMiddleware:
    """Closed organisations answer nothing; suspended ones, those whose trial ended without a
    payment, those whose payment is overdue past the grace period and those whose subscription
    was cancelled are read-only (signing in and out still works, and so does paying)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.is_public:
            return self.get_response(request)
        # The organisation's zone, for the whole request: forms, templates and localtime().
        timezone.activate(tenant.zone)
        try:
            return self.serve_organisation(request, tenant)
        finally:
            timezone.deactivate()

    def serve_organisation(self, request, tenant):
        if tenant.status == Tenant.Status.CLOSED:
            return render(request, "errors/closed.html", {"tenant": tenant}, status=410)
        # The layout's trial banner and the read-only page say why, from this.
        request.trial_has_ended = trial_has_ended(tenant)
        request.payment_grace_has_ended = payment_grace_has_ended(tenant)
        request.subscription_has_ended = tenant.subscription_ended_at is not None
        writes = request.method not in SAFE_METHODS
        if writes and not request.path.startswith(ALWAYS_WRITABLE):
            # An organisation whose trial ended or whose payment is overdue must still be
            # able to choose a plan and pay.
            unpaid = (
                request.trial_has_ended
                or request.payment_grace_has_ended
                or request.subscription_has_ended
            )
            billing_blocks = unpaid and not request.path.startswith("/billing/")
            if tenant.is_read_only or billing_blocks:
                return self.refuse_write(request, tenant)
        return self.get_response(request)

    def refuse_write(self, request, tenant):
        """The read-only page (403). htmx swaps no 403, so an HTMX request gets the page
        reloaded instead, with a toast saying why nothing was saved."""
        context = {
            "tenant": tenant,
            "trial_has_ended": request.trial_has_ended,
            "payment_grace_has_ended": request.payment_grace_has_ended,
            "subscription_has_ended": request.subscription_has_ended,
        }
        response = render(request, "errors/read_only.html", context, status=403)
        if getattr(request, "htmx", False):
            if tenant.is_read_only:
                reason = f"{tenant.name} is suspended, so it is read-only."
            elif request.payment_grace_has_ended:
                reason = f"a payment for {tenant.name} is overdue; pay it on the billing page."
            elif request.subscription_has_ended:
                reason = f"the subscription of {tenant.name} has ended; choose a plan to carry on."
            else:
                reason = f"the free trial of {tenant.name} has ended; choose a plan to carry on."
            messages.error(request, f"Nothing was saved: {reason}")
            response["HX-Refresh"] = "true"
        return response

"""Accounts views: the organisation picker and both ends of the hand-over."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from nexuscore.accounts.handover import issue_handover_token, redeem_handover_token
from tenants.hosts import tenant_url
from tenants.models import Membership


def _get_membership_for_user(user, slug) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("tenant"),
        user=user,
        tenant__schema_name=slug,
    )


@require_GET
@login_required
def organisations(request):
    """Public host: the organisations this person belongs to, each a link to its host."""
    memberships = Membership.objects.of_user(request.user)
    return render(request, "account/organisations.html", {"memberships": memberships})


@require_GET
@login_required
def open_organisation(request, slug):
    """Public host: send this person, signed in, to one of their organisations."""
    membership = _get_membership_for_user(request.user, slug)
    token = issue_handover_token(request.user, membership.tenant)
    return redirect(tenant_url(request, membership.tenant, f"/accounts/handover/?token={token}"))


@require_GET
def receive_handover(request):
    """Tenant host: sign in the person a fresh hand-over token names."""
    user = redeem_handover_token(request.GET.get("token", ""), request.tenant.schema_name)
    if user is None:
        return render(request, "account/handover_failed.html", status=400)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    next_url = request.GET.get("next", "/")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    messages.success(request, f"You're signed in to {request.tenant.name}")
    return redirect(next_url)

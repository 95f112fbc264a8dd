"""Accounts views: the organisation picker, both ends of the hand-over, and the account page."""

from allauth.account.models import EmailAddress
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from nexuscore.accounts.forms import ProfileForm
from nexuscore.accounts.handover import issue_handover_token, redeem_handover_token
from nexuscore.accounts.profile import update_profile
from tenants.decorators import lacks_required_two_factor, redirect_to_two_factor_setup
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
    if lacks_required_two_factor(request):
        return redirect_to_two_factor_setup(request)
    next_url = request.GET.get("next", "/")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    messages.success(request, f"You're signed in to {request.tenant.name}")
    return redirect(next_url)


@require_http_methods(["GET", "POST"])
@login_required
def profile(request):
    """Both hosts: a person's own details and email choices, with links to the pages that
    change how they sign in (email addresses, password, two-factor)."""
    user = request.user
    form = ProfileForm(request.POST if request.method == "POST" else None, user=user)
    if form.is_valid():
        if update_profile(user, request=request, **form.changes()):
            messages.success(request, "Your details are saved.")
        else:
            messages.info(request, "Nothing changed.")
        return redirect("account_profile")
    context = {
        "form": form,
        "email_verified": EmailAddress.objects.filter(
            user=user, email__iexact=user.email, verified=True
        ).exists(),
        "mfa_enabled": is_mfa_enabled(user),
        "two_factor_required_here": lacks_required_two_factor(request),
    }
    return render(request, "account/profile.html", context)

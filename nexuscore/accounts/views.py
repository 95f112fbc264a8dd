"""Accounts views: the organisation picker, the three steps of the hand-over (see handover.py),
and the account page."""

from allauth.account.models import EmailAddress
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from nexuscore.accounts import handover
from nexuscore.accounts.forms import ProfileForm
from nexuscore.accounts.profile import update_profile
from tenants.decorators import lacks_required_two_factor, redirect_to_two_factor_setup
from tenants.hosts import public_url, tenant_url
from tenants.models import Membership


def _next_query(request) -> dict:
    """The `next` path to pass on through the hand-over, if there is a safe one."""
    next_path = handover.safe_next(request.GET.get("next"))
    return {} if next_path == "/" else {"next": next_path}


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
    memberships = [
        (membership, handover.start_url(request, membership.tenant))
        for membership in Membership.objects.of_user(request.user)
    ]
    return render(request, "account/organisations.html", {"memberships": memberships})


@require_GET
@login_required
def open_organisation(request, slug):
    """Public host: send this person to one of their organisations, whose host begins the
    hand-over. Links in emails, and the sign-up and invitation pages, name this address."""
    membership = _get_membership_for_user(request.user, slug)
    return redirect(handover.start_url(request, membership.tenant, request.GET.get("next")))


@require_GET
def begin_handover(request):
    """Tenant host: the first step of signing in whoever is signed in on the public host.
    This browser keeps a random value in a cookie; the public host sees only its hash."""
    state = handover.new_state()
    query = {"state": handover.hash_state(state), **_next_query(request)}
    issue_path = reverse(
        "issue_handover", urlconf=settings.PUBLIC_SCHEMA_URLCONF, args=[request.tenant.schema_name]
    )
    response = redirect(f"{public_url(request, issue_path)}?{urlencode(query)}")
    handover.set_state_cookie(response, state)
    return response


@require_GET
@login_required
def issue_handover(request, slug):
    """Public host: a hand-over token for this person and organisation, bound to the hash of
    the cookie that the organisation's host has just set in this browser."""
    membership = _get_membership_for_user(request.user, slug)
    state_hash = request.GET.get("state", "")
    if not handover.is_state_hash(state_hash):
        return render(request, "account/handover_failed.html", status=400)
    token = handover.issue_handover_token(request.user, membership.tenant, state_hash)
    query = {"token": token, **_next_query(request)}
    receive_path = reverse("handover", urlconf=settings.ROOT_URLCONF)
    return redirect(tenant_url(request, membership.tenant, f"{receive_path}?{urlencode(query)}"))


@require_GET
def receive_handover(request):
    """Tenant host: sign in the person a fresh hand-over token names, if this browser asked
    for it."""
    user = handover.redeem_handover_token(
        request.GET.get("token", ""),
        request.tenant.schema_name,
        request.COOKIES.get(handover.STATE_COOKIE, ""),
    )
    if user is None:
        # The cookie stays: a link someone else sent must not end a hand-over in progress.
        return render(request, "account/handover_failed.html", status=400)
    login(request, user, backend="nexuscore.accounts.backends.PasswordBackend")
    if lacks_required_two_factor(request):
        response = redirect_to_two_factor_setup(request)
    else:
        messages.success(request, f"You're signed in to {request.tenant.name}")
        response = redirect(handover.safe_next(request.GET.get("next")))
    handover.delete_state_cookie(response)
    return response


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

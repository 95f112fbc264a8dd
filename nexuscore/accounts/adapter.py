"""allauth adapter: sign-up only on the public site, and where people land after signing in."""

from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse

from nexuscore.lib.ratelimit import client_address
from tenants.models import Membership


def on_public_host(request) -> bool:
    tenant = getattr(request, "tenant", None)
    return tenant is None or tenant.is_public


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Organisation hosts belong to their members; new people sign up on the public site.
        return on_public_host(request)

    def get_signup_redirect_url(self, request):
        return reverse("create_organisation") if on_public_host(request) else "/"

    def get_client_ip(self, request):
        """allauth's limits count by the same address as ours (trusted proxies included)."""
        return client_address(request)

    def _get_login_attempts_cache_key(self, request, **credentials):
        """allauth counts failed sign-ins per host and login; every organisation's host serves the
        form for any account, so one account has one count, whatever host is tried (the hook is
        private in allauth 65: tests/test_rate_limits.py notices if it stops being called)."""
        return str(credentials.get("email") or credentials.get("username") or "").lower()

    def get_login_redirect_url(self, request):
        """On the public site: the organisation picker, or creating one for people who have none."""
        if not on_public_host(request):
            return "/"
        if not Membership.objects.of_user(request.user).exists():
            return reverse("create_organisation")
        return reverse("organisations")

"""allauth adapter: sign-up only on the public site, and where people land after signing in."""

from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse


def on_public_host(request) -> bool:
    tenant = getattr(request, "tenant", None)
    return tenant is None or tenant.is_public


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Organisation hosts belong to their members; new people sign up on the public site.
        return on_public_host(request)

    def get_login_redirect_url(self, request):
        if on_public_host(request):
            return reverse("organisations")
        return "/"

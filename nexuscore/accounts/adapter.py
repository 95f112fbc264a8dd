"""allauth adapter: sign-up only on the public site, and where people land after signing in."""

from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse

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

    def get_login_redirect_url(self, request):
        """On the public site: the organisation picker, or creating one for people who have none."""
        if not on_public_host(request):
            return "/"
        if not Membership.objects.of_user(request.user).exists():
            return reverse("create_organisation")
        return reverse("organisations")

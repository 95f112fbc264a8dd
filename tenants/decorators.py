"""View decorators for tenant hosts: who may see a page of this organisation.

An organisation may require two-factor authentication (Tenant.requires_two_factor): its members
then enter its pages only once they have an authenticator. allauth's own pages under
/accounts/ are not decorated, so setting one up stays possible.
"""

from functools import wraps

from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from tenants.middleware import current_membership


def lacks_required_two_factor(request) -> bool:
    """Whether this host's organisation requires two-factor and the signed-in person has none."""
    tenant = getattr(request, "tenant", None)
    return (
        tenant is not None
        and not tenant.is_public
        and tenant.requires_two_factor
        and request.user.is_authenticated
        and not is_mfa_enabled(request.user)
    )


def redirect_to_two_factor_setup(request):
    """Send the person to set up an authenticator app on this host, saying why."""
    messages.warning(
        request,
        f"{request.tenant.name} requires two-factor authentication. Set up an authenticator "
        "app to continue; it takes a minute.",
    )
    url = reverse("mfa_activate_totp")
    # A redirect answering an htmx request would be swapped into the page as a fragment.
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def require_membership(view):
    """Anonymous people go to sign-in; signed-in people from elsewhere get a 403 page; members
    of an organisation that requires two-factor go to set it up if they have not."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if current_membership(request) is None:
            return render(request, "errors/not_a_member.html", status=403)
        if lacks_required_two_factor(request):
            return redirect_to_two_factor_setup(request)
        return view(request, *args, **kwargs)

    return wrapper


def require_permission(permission: str):
    """Like require_membership, and the person's role must grant `permission`."""

    def decorator(view):
        @wraps(view)
        @require_membership
        def wrapper(request, *args, **kwargs):
            if not current_membership(request).has_permission(permission):
                return render(
                    request, "errors/forbidden.html", {"permission": permission}, status=403
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorator

"""View decorators for tenant hosts: who may see a page of this organisation."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render

from tenants.middleware import current_membership


def require_membership(view):
    """Anonymous people go to sign-in; signed-in people from elsewhere get a 403 page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if current_membership(request) is None:
            return render(request, "errors/not_a_member.html", status=403)
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

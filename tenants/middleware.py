"""Request routing by host, and what a request may do inside an organisation.

TenantMiddleware picks the schema from the host name. Looking the host up in the database on
every request costs as much as the page itself, so each process remembers the answer for
settings.TENANT_CACHE_SECONDS (changes made in the same process are seen at once).
"""

import copy
import threading
import time

from django.conf import settings
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware

from tenants.models import Membership, Tenant

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
            with _hosts_lock:
                _hosts[hostname] = (now + settings.TENANT_CACHE_SECONDS, tenant)
            cached = _hosts[hostname]
        # A copy per request: the middleware sets attributes on it.
        return copy.copy(cached[1])


def current_membership(request) -> Membership | None:
    """The signed-in person's membership in this host's organisation (one query, then cached)."""
    if not hasattr(request, "_membership"):
        tenant = getattr(request, "tenant", None)
        user = getattr(request, "user", None)
        membership = None
        if (
            tenant is not None
            and not tenant.is_public
            and user is not None
            and user.is_authenticated
        ):
            membership = Membership.objects.filter(tenant=tenant, user=user).first()
        request._membership = membership
    return request._membership


SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class MembershipMiddleware:
    """Closed organisations answer nothing; suspended ones are read-only (signing in and out
    still works)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if tenant is not None and not tenant.is_public:
            if tenant.status == Tenant.Status.CLOSED:
                return render(request, "errors/closed.html", {"tenant": tenant}, status=410)
            writes = request.method not in SAFE_METHODS
            if tenant.is_read_only and writes and not request.path.startswith("/accounts/"):
                return render(request, "errors/read_only.html", {"tenant": tenant}, status=403)
        return self.get_response(request)

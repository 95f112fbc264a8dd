"""Context for every template: the site, the organisation and the person's place in it."""

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from tenants.hosts import public_url
from tenants.middleware import current_membership, user_memberships


def site(request):
    tenant = getattr(request, "tenant", None)
    on_tenant_host = tenant is not None and not tenant.is_public
    return {
        "site_name": settings.SITE_NAME,
        "on_tenant_host": on_tenant_host,
        "tenant": tenant if on_tenant_host else None,
        "membership": current_membership(request) if on_tenant_host else None,
        "user_memberships": SimpleLazyObject(lambda: user_memberships(request)),
        "public_site_url": public_url(request, "") if on_tenant_host else "",
    }

"""Absolute addresses on the public host and on organisation hosts, keeping the request's port."""

from django.conf import settings


def _origin(request, host: str) -> str:
    requested = request.get_host()
    port = requested.rsplit(":", 1)[1] if ":" in requested else ""
    return f"{request.scheme}://{host}{':' + port if port else ''}"


def public_url(request, path: str = "/") -> str:
    return _origin(request, settings.BASE_DOMAIN) + path


def tenant_url(request, tenant, path: str = "/") -> str:
    return _origin(request, tenant.primary_host()) + path


def organisation_url(schema_name: str, path: str = "/") -> str:
    """An absolute address on the host of the organisation `schema_name` (the public site's for
    public) where there is no request (mail, tasks): SITE_URL's scheme and port with the
    organisation's host. The one place this is worked out; Tenant.absolute_url() uses it."""
    if schema_name == "public":
        return settings.SITE_URL + path
    return settings.SITE_URL.replace("://", f"://{schema_name}.", 1) + path

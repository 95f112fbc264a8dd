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


def tenant_address(tenant, path: str = "/") -> str:
    """An absolute address on the organisation's host where there is no request (emails sent by
    tasks): SITE_URL's scheme and port, the organisation's host."""
    return settings.SITE_URL.replace("://", f"://{tenant.schema_name}.", 1) + path

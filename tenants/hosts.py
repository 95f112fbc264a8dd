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

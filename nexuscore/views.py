"""Project-level views: the public home page and the pages for hosts and paths that lead nowhere."""

from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET


@require_GET
@cache_control(private=True, max_age=300)
def home(request):
    return render(request, "public/home.html")


def unknown_host(request):
    """No organisation answers on this host name (django-tenants' DEFAULT_NOT_FOUND_TENANT_VIEW)."""
    return render(request, "errors/unknown_host.html", {"host": request.get_host()}, status=404)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)

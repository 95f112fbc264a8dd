"""Project-level views: the pages for hosts and paths that lead nowhere.

The public site's own pages live in nexuscore/marketing/views.py.
"""

from django.shortcuts import render


def unknown_host(request):
    """No organisation answers on this host name (django-tenants' DEFAULT_NOT_FOUND_TENANT_VIEW)."""
    return render(request, "errors/unknown_host.html", {"host": request.get_host()}, status=404)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)

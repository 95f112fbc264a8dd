"""The organisation URLs plus /bench-floor/: the cheapest page a signed-in person can open.

It passes every check a real page passes (the host's organisation, the session, the signed-in
user, their membership and role) and then renders nothing. No real page can be faster, so its
requests per second bound every signed-in page's, and the bench prints it beside them. Only bench
processes route it (floor_settings); the project never does.
"""

from django.http import HttpResponse
from django.urls import path

from nexuscore.urls_tenant import urlpatterns as organisation_urlpatterns
from tenants.decorators import require_permission

BODY = "signed-in floor"


@require_permission("leads.view")
def signed_in_floor(request):
    return HttpResponse(BODY, content_type="text/plain")


urlpatterns = [path("bench-floor/", signed_in_floor), *organisation_urlpatterns]

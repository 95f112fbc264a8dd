"""The organisation URLs plus /boom/, a signed-in page that fails while handling a form full of
personal data (tests/test_errors.py routes it through ROOT_URLCONF; the project never does)."""

from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from nexuscore.urls_tenant import urlpatterns as organisation_urlpatterns
from tenants.decorators import require_permission


@csrf_exempt
@require_permission("leads.view")
def boom(request):
    raise ValueError(f"cannot import the lead {request.POST['email']}")


urlpatterns = [path("boom/", boom), *organisation_urlpatterns]

"""A bare Django view behind two middlewares: the ceiling a NexusCore page is measured against.

Served the same way as the project (`gunicorn bench.bare -w 2`), with settings of its
own: no database, no templates, no apps.
"""

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path


def hello(request):
    return HttpResponse("Hello from a bare Django view.")


urlpatterns = [path("", hello)]

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-only-bare-view",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
    ],
)
application = get_wsgi_application()

"""The privacy pages for anyone, on every host (mounted at /privacy/ by both URLconfs)."""

from django.urls import path

from nexuscore.privacy import views

app_name = "privacy"

# The confirmation token is URL-safe base64 (a slug); signed tokens hold ":" as well, so they
# are matched as paths (anything not genuine is a 404 anyway).

person_patterns = [
    path("request/", views.request_form, name="request"),
    path("request/sent/", views.request_sent, name="request_sent"),
    path("request/<slug:token>/", views.request_status, name="request_status"),
    path("download/<path:token>/", views.download, name="download"),
    path("withdraw/<path:token>/", views.withdraw, name="withdraw"),
]

urlpatterns = person_patterns

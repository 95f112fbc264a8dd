"""The privacy pages for anyone, on every host (mounted at /privacy/ by both URLconfs)."""

from django.urls import path

from nexuscore.privacy import views

app_name = "privacy"

person_patterns = [
    path("request/", views.request_form, name="request"),
    path("request/sent/", views.request_sent, name="request_sent"),
    path("request/<str:token>/", views.request_status, name="request_status"),
    path("download/<str:token>/", views.download, name="download"),
    path("withdraw/<str:token>/", views.withdraw, name="withdraw"),
]

urlpatterns = person_patterns

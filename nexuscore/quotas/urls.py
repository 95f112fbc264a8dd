"""Usage URLs, mounted at /usage/ on organisation hosts."""

from django.urls import path

from nexuscore.quotas import views

urlpatterns = [
    path("", views.usage, name="usage"),
    path("widget/", views.usage_widget, name="usage_widget"),
    path("status/", views.usage_status, name="usage_status"),
    path("check/", views.usage_check, name="usage_check"),
]

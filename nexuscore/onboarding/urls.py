"""URLs of this area; see nexuscore/urls_public.py and urls_tenant.py for where they mount."""

from django.urls import path

from nexuscore.onboarding import views

urlpatterns = [
    path("", views.create_organisation, name="create_organisation"),
    path("check-subdomain/", views.check_subdomain, name="check_subdomain"),
    path("check-uen/", views.check_uen, name="check_uen"),
]

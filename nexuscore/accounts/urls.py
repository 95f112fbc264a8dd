"""Our own pages under /accounts/ on every host (allauth's are included beside them)."""

from django.urls import path

from nexuscore.accounts import views

urlpatterns = [
    path("profile/", views.profile, name="account_profile"),
]

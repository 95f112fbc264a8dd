"""Invitation links on the public host (mounted at /invitations/ by urls_public.py)."""

from django.urls import path

from nexuscore.team import views

urlpatterns = [
    path("<str:token>/", views.invitation, name="invitation"),
    path("<str:token>/accept/", views.accept_invitation, name="accept_invitation"),
]

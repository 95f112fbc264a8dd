"""The public capture forms, mounted at /f/ on organisation hosts (no sign-in)."""

from django.urls import path

from nexuscore.leads import capture

urlpatterns = [
    path("<slug:slug>/", capture.capture, name="capture"),
    path("<slug:slug>/thanks/", capture.capture_thanks, name="capture_thanks"),
]

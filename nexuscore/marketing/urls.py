"""URLs of the public site's pages (mounted at / on the public host)."""

from django.urls import path

from nexuscore import views

urlpatterns = [
    path("", views.home, name="home"),
]

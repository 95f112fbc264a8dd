"""URLs of the public site's pages (mounted at / on the public host)."""

from django.contrib.sitemaps.views import sitemap
from django.urls import path
from django.views.decorators.http import require_GET

from nexuscore.marketing import views
from nexuscore.marketing.sitemaps import PublicPagesSitemap

urlpatterns = [
    path("", views.home, name="home"),
    path("features/", views.features, name="features"),
    path("pricing/", views.pricing, name="pricing"),
    path("about/", views.about, name="about"),
    path("contact/", views.contact, name="contact"),
    path("contact/thanks/", views.contact_thanks, name="contact_thanks"),
    # The privacy notice; privacy requests (/privacy/request/) belong to nexuscore.privacy.
    path("privacy/", views.privacy, name="privacy"),
    path("terms/", views.terms, name="terms"),
    path("robots.txt", views.robots_txt, name="robots_txt"),
    path(
        "sitemap.xml",
        require_GET(sitemap),
        {"sitemaps": {"pages": PublicPagesSitemap}},
        name="sitemap",
    ),
]

"""URLs of the public host: marketing, accounts, staff admin, health."""

from django.contrib import admin
from django.urls import include, path

from nexuscore.accounts import views as accounts_views
from nexuscore.billing.webhooks import stripe_webhook
from nexuscore.health.views import health

urlpatterns = [
    path("", include("nexuscore.marketing.urls")),
    path("privacy/", include("nexuscore.privacy.urls_person")),
    path("signup/", include("nexuscore.onboarding.urls")),
    path("invitations/", include("nexuscore.team.urls_public")),
    path("accounts/organisations/", accounts_views.organisations, name="organisations"),
    path(
        "accounts/organisations/<slug:slug>/open/",
        accounts_views.open_organisation,
        name="open_organisation",
    ),
    path(
        "accounts/organisations/<slug:slug>/handover/",
        accounts_views.issue_handover,
        name="issue_handover",
    ),
    path("accounts/", include("nexuscore.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("webhooks/stripe/", stripe_webhook, name="stripe_webhook"),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
]

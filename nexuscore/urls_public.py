"""URLs of the public host: marketing, accounts, staff admin, health."""

from django.contrib import admin
from django.urls import include, path

from nexuscore.accounts import views as accounts_views
from nexuscore.billing.webhooks import stripe_webhook
from nexuscore.health.views import health, web_health
from nexuscore.operations.views import metrics

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
    # The operations page sits inside the staff admin, behind its guard (operations/urls.py).
    path("admin/operations/", include("nexuscore.operations.urls")),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("health/web/", web_health, name="web_health"),
    path("metrics", metrics, name="metrics"),
]

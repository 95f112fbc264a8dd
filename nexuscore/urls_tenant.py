"""URLs of an organisation's host (<slug>.<base domain>)."""

from django.urls import include, path

from nexuscore.accounts import views as accounts_views
from nexuscore.audit import views as audit_views
from nexuscore.dashboard import views as dashboard_views
from nexuscore.health.views import health, web_health

urlpatterns = [
    path("", dashboard_views.dashboard, name="dashboard"),
    path("activity/", audit_views.activity, name="activity"),
    path("usage/", include("nexuscore.quotas.urls")),
    path("leads/", include("nexuscore.leads.urls")),
    path("f/", include("nexuscore.leads.urls_capture")),
    path("privacy/", include("nexuscore.privacy.urls")),
    path("", include("nexuscore.team.urls")),
    path("", include("nexuscore.billing.urls")),
    path("accounts/handover/start/", accounts_views.begin_handover, name="handover_start"),
    path("accounts/handover/", accounts_views.receive_handover, name="handover"),
    path("accounts/", include("nexuscore.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("health/", health, name="health"),
    path("health/web/", web_health, name="web_health"),
]

handler404 = "nexuscore.views.page_not_found"

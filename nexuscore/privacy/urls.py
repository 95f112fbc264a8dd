"""The privacy pages of an organisation's host: those for anyone, and the inbox."""

from django.urls import path

from nexuscore.privacy import views
from nexuscore.privacy.urls_person import person_patterns

app_name = "privacy"

urlpatterns = [
    *person_patterns,
    path("requests/", views.inbox, name="inbox"),
    path("requests/<uuid:pk>/", views.request_detail, name="detail"),
    path("requests/<uuid:pk>/export/", views.retry_export, name="retry_export"),
    path("requests/<uuid:pk>/approve/", views.approve_deletion, name="approve"),
    path("requests/<uuid:pk>/delete/", views.carry_out_deletion, name="delete"),
    path("requests/<uuid:pk>/correct/", views.apply_correction, name="correct"),
    path("requests/<uuid:pk>/decline/", views.decline, name="decline"),
    path("retention/", views.retention, name="retention"),
]

"""The team and settings pages of an organisation's host (mounted at "" by urls_tenant.py)."""

from django.urls import path

from nexuscore.team import views

urlpatterns = [
    path("team/", views.team_page, name="team"),
    path("team/invitations/", views.invite, name="invite"),
    path(
        "team/invitations/<uuid:invitation_id>/resend/",
        views.resend_invitation,
        name="resend_invitation",
    ),
    path(
        "team/invitations/<uuid:invitation_id>/revoke/",
        views.revoke_invitation,
        name="revoke_invitation",
    ),
    path("team/members/<uuid:membership_id>/role/", views.change_role, name="change_role"),
    path("team/members/<uuid:membership_id>/remove/", views.remove_member, name="remove_member"),
    path("team/leave/", views.leave_organisation, name="leave_organisation"),
    path("team/transfer/", views.transfer_ownership, name="transfer_ownership"),
    path("settings/", views.organisation_settings, name="organisation_settings"),
]

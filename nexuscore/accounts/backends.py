"""Signing in on an organisation's host: its members only, and a stranger learns nothing.

Every organisation's host serves the sign-in form for any account. Were a correct password
accepted there for someone who is not a member, the host would confirm that password to whoever
tried it (and each new organisation would be one more place to try). On an organisation's host
this backend therefore decides alone: it signs in a member whose password is right, and answers
every other attempt, a wrong password or a stranger's right one, with the same refusal
(PermissionDenied stops Django from asking the backends after it). The refusal counts against
allauth's failed-sign-in limits exactly as a wrong password does. On the public host it steps
aside for the usual backends.
"""

from allauth.account.auth_backends import AuthenticationBackend
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from nexuscore.sessions.middleware import preloaded_user
from tenants.models import Membership


class SessionUserMixin:
    """Takes the user that came with the session's own query (nexuscore/sessions) instead of
    reading it again; the same check of an active account follows either way."""

    def get_user(self, user_id):
        user = preloaded_user(user_id)
        if user is None:
            return super().get_user(user_id)
        return user if self.user_can_authenticate(user) else None


class PasswordBackend(SessionUserMixin, ModelBackend):
    """Django's ModelBackend (the staff admin's sign-in)."""


class AccountBackend(SessionUserMixin, AuthenticationBackend):
    """allauth's backend (sign-in by email on the public host)."""


class OrganisationMembersBackend(SessionUserMixin, AuthenticationBackend):
    def authenticate(self, request, **credentials):
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.is_public:
            return None
        user = super().authenticate(request, **credentials)
        if user is None or not Membership.objects.filter(user=user, tenant=tenant).exists():
            # allauth keeps aside an inactive account whose password was right, to say so;
            # here that would tell a stranger the password, so nothing is kept.
            self.unstash_authenticated_user()
            raise PermissionDenied
        return user

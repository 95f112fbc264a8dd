"""Expired sessions are deleted every night, in every schema that keeps sessions."""

from django.utils import timezone

from nexuscore.lib.schedules import Recurring
from nexuscore.sessions.models import Session
from tenants.tasks import for_each_organisation

SCHEDULES = [
    Recurring(
        "sessions: delete expired", "nexuscore.sessions.tasks.delete_expired_sessions", daily_at=4
    ),
]


def delete_expired_sessions() -> int:
    """How many were deleted, over every organisation and the public site."""

    def delete(tenant) -> int:
        deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
        return deleted

    return for_each_organisation(delete, include_public=True)

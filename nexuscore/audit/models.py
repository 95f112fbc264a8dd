"""Event (seed ERD: type, actor, tenant, data, created_at) and record_event(), its one writer."""

import uuid

from django.conf import settings
from django.db import connection, models
from django_tenants.utils import schema_context


class Event(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=100)
    # No database constraints: events outlive the people and organisations they mention, and a
    # row that may not change cannot follow an ON DELETE rule.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    tenant = models.ForeignKey(
        "tenants.Tenant",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["event_type", "created_at"]),
            models.Index(fields=["-created_at"], name="audit_event_recent"),
        ]

    def __str__(self):
        return f"{self.event_type} at {self.created_at:%Y-%m-%d %H:%M}"


def record_event(event_type, *, actor=None, tenant=None, data=None, schema_name=None) -> Event:
    """Append an audit event.

    It goes to the schema that is active (an organisation's own log on its host, the platform
    log in public) unless `schema_name` names another.
    """
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    target = schema_name or connection.schema_name
    with schema_context(target):
        return Event.objects.create(
            event_type=event_type, actor=actor, tenant=tenant, data=data or {}
        )

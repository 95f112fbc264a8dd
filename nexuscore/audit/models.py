"""Event (type, actor, tenant, data, created_at), record_event(), its one writer, and
redact_events(), the one sanctioned change to an event (see migration 0003)."""

import uuid

from django.conf import settings
from django.db import connection, models, transaction
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


def redact_events(events, redact) -> int:
    """Replace the `data` of each of `events` (a queryset in the active schema) with
    `redact(data)`; returns how many changed.

    Events are append-only (a trigger refuses UPDATE and DELETE), but the PDPA wants a person's
    details gone from everything kept about them once they ask for deletion, and from old leads
    under the retention rule. This is the one way through: inside a transaction it sets
    `nexuscore.redacting` for that transaction only (SET LOCAL), which the trigger reads, and
    switches it off again before returning, so nothing else in the same transaction may change
    an event. The trigger still refuses any change to an event's type, actor, organisation or
    time, and every DELETE.
    """
    changed = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL nexuscore.redacting = 'on'")
        try:
            for event in events.only("id", "data").order_by().select_for_update():
                new = redact(event.data)
                if new != event.data:
                    event.data = new
                    changed.append(event)
            Event.objects.bulk_update(changed, ["data"], batch_size=500)
        finally:
            cursor.execute("SET LOCAL nexuscore.redacting = 'off'")
    return len(changed)

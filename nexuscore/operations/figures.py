"""The service's figures, each read with one query: for the /metrics collector (at scrape
time) and the staff operations page."""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Count, Min, Q
from django.utils import timezone
from django_q.models import OrmQ, Task
from django_tenants.utils import get_public_schema_name

from nexuscore.billing.models import WebhookEvent
from nexuscore.health.models import Heartbeat
from tenants.models import PooledSchema, Tenant


@dataclass(frozen=True)
class Queue:
    length: int
    oldest_age_seconds: float  # of the oldest task waiting to be taken; 0 when none waits


def queue(now=None) -> Queue:
    """Tasks in django-q2's queue (waiting or taken and not yet acknowledged), and how long the
    oldest one waiting has waited. A waiting task's `lock` is when it was queued (or when its
    lease ran out); a taken one's lies in the future."""
    now = now or timezone.now()
    figures = OrmQ.objects.aggregate(
        length=Count("id"), oldest=Min("lock", filter=Q(lock__lte=now))
    )
    oldest = figures["oldest"]
    return Queue(figures["length"], (now - oldest).total_seconds() if oldest else 0.0)


def failed_tasks() -> int:
    """Failures django-q2 keeps (it keeps every one until deleted or retried)."""
    return Task.objects.filter(success=False).count()


def stripe_events() -> dict[str, int]:
    """Stripe events still to be processed, and those that failed for good."""
    Status = WebhookEvent.Status
    return WebhookEvent.objects.aggregate(
        pending=Count("id", filter=Q(status=Status.PENDING)),
        failed=Count("id", filter=Q(status=Status.FAILED)),
    )


def schema_pool_size() -> int:
    return PooledSchema.objects.count()


def organisations_by_status() -> dict[str, int]:
    """Every status, zero included, so a series does not vanish when its last one goes."""
    counts = dict.fromkeys(Tenant.Status.values, 0)
    rows = (
        Tenant.objects.exclude(schema_name=get_public_schema_name())
        .order_by()
        .values_list("status")
        .annotate(count=Count("id"))
    )
    counts.update(dict(rows))
    return counts


def last_heartbeat() -> datetime | None:
    return Heartbeat.objects.filter(name="worker").values_list("beat_at", flat=True).first()


@dataclass(frozen=True)
class SchemaSize:
    schema_name: str
    name: str
    bytes: int
    rows: int  # PostgreSQL's estimate (pg_class.reltuples), as of the last ANALYZE


def largest_schemas(limit: int = 20) -> list[SchemaSize]:
    """The organisations whose schemas take the most space: tables with their indexes and
    TOAST, and the estimated rows of those tables."""
    # The one name put into the text is our own table's, quoted.
    sql = f"""
        SELECT n.nspname, t.name, SUM(pg_total_relation_size(c.oid)), SUM(GREATEST(c.reltuples, 0))
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN {connection.ops.quote_name(Tenant._meta.db_table)} t ON t.schema_name = n.nspname
        WHERE c.relkind IN ('r', 'p') AND n.nspname <> %s
        GROUP BY n.nspname, t.name
        ORDER BY 3 DESC, 1
        LIMIT %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [get_public_schema_name(), limit])
        return [SchemaSize(s, name, int(size), int(rows)) for s, name, size, rows in cursor]

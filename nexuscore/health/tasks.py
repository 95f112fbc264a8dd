"""Tasks of the health app, run by the django-q2 worker."""

from nexuscore.health.alerts import report_empty_schema_pool, report_worker_back
from nexuscore.health.models import Heartbeat
from nexuscore.lib.schedules import Recurring
from tenants.models import PooledSchema

SCHEDULES = [
    Recurring("worker heartbeat", "nexuscore.health.tasks.worker_heartbeat", minutes=1),
    Recurring("alerts: empty schema pool", "nexuscore.health.tasks.check_schema_pool", minutes=5),
]


def worker_heartbeat():
    """Prove that a worker is taking tasks: /health/ reads the time of the last beat. The first
    beat after staff were told it had stopped tells them it is back."""
    reported_at = Heartbeat.beat("worker")
    if reported_at is not None:
        report_worker_back("worker", reported_at)


def check_schema_pool() -> int:
    """Tell staff (at most once an hour) when no pooled schema is waiting for a sign-up."""
    return report_empty_schema_pool(PooledSchema.objects.count())

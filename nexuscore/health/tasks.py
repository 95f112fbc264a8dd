"""Tasks of the health app, run by the django-q2 worker."""

from nexuscore.health.alerts import report_worker_back
from nexuscore.health.models import Heartbeat
from nexuscore.lib.schedules import Recurring

SCHEDULES = [Recurring("worker heartbeat", "nexuscore.health.tasks.worker_heartbeat", minutes=1)]


def worker_heartbeat():
    """Prove that a worker is taking tasks: /health/ reads the time of the last beat. The first
    beat after staff were told it had stopped tells them it is back."""
    reported_at = Heartbeat.beat("worker")
    if reported_at is not None:
        report_worker_back("worker", reported_at)

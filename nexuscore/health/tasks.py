"""Tasks of the health app, run by the django-q2 worker."""

from nexuscore.health.models import Heartbeat


def worker_heartbeat():
    """Prove that a worker is taking tasks: /health/ reads the time of the last beat."""
    Heartbeat.beat("worker")

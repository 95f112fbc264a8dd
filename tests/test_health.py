"""/health/ reports database, migrations and worker heartbeat."""

from datetime import timedelta

from django.utils import timezone

from nexuscore.health.models import Heartbeat
from nexuscore.health.tasks import worker_heartbeat
from tests.conftest import client_for


def test_healthy_when_the_worker_beat_recently(db):
    worker_heartbeat()
    response = client_for(None).get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["migrations"]["ok"]


def test_healthy_on_a_tenant_host_too(acme):
    worker_heartbeat()
    response = client_for(acme).get("/health/")
    assert response.status_code == 200
    assert response.json()["checks"]["migrations"]["pending"] == 0


def test_unavailable_when_the_worker_is_silent(db):
    Heartbeat.objects.update_or_create(
        name="worker", defaults={"beat_at": timezone.now() - timedelta(minutes=10)}
    )
    response = client_for(None).get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["ok"] is False


def test_unavailable_before_any_heartbeat(db):
    Heartbeat.objects.all().delete()
    assert client_for(None).get("/health/").status_code == 503

"""/health/ reports database, migrations and worker heartbeat, and tells staff once when the
worker stops (the worker cannot tell them itself) and once when it beats again."""

import socket
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


def stop_the_worker(minutes=10):
    Heartbeat.objects.update_or_create(
        name="worker", defaults={"beat_at": timezone.now() - timedelta(minutes=minutes)}
    )


def test_staff_are_told_once_when_the_worker_stops_and_once_when_it_is_back(
    acme, staff, mailoutbox
):
    stop_the_worker()
    for host in (None, None, acme):  # the load balancer polls every host, every few seconds
        assert client_for(host).get("/health/").status_code == 503
    (stopped,) = mailoutbox
    assert stopped.to == [staff.email]
    assert "has stopped" in stopped.subject and "/health/" in stopped.body

    worker_heartbeat()
    worker_heartbeat()
    assert client_for(None).get("/health/").status_code == 200
    assert [m.subject for m in mailoutbox[1:]] == ["The NexusCore worker is running again"]

    stop_the_worker()  # a second outage within the hour: no email (at most one an hour)
    client_for(None).get("/health/")
    assert len(mailoutbox) == 2
    assert Heartbeat.objects.get(name="worker").outage_reported_at is None  # so no "back" mail


def test_nobody_is_emailed_while_the_worker_beats_or_when_it_was_never_reported(
    db, staff, mailoutbox
):
    worker_heartbeat()
    client_for(None).get("/health/")
    stop_the_worker(minutes=2)  # late, but within WORKER_HEARTBEAT_MAX_AGE_SECONDS
    assert client_for(None).get("/health/").status_code == 200
    stop_the_worker(minutes=4)  # unavailable, but staff hear only after 5 minutes
    assert client_for(None).get("/health/").status_code == 503
    worker_heartbeat()  # back before anyone noticed: no "running again" either
    assert mailoutbox == []


def test_when_mail_fails_the_next_check_tells_staff(db, staff, settings, mailoutbox):
    stop_the_worker()
    with socket.socket() as closed:  # a port nothing listens on: the SMTP server is down
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 2},
        }
    }
    assert client_for(None).get("/health/").status_code == 503  # not a 500
    assert Heartbeat.objects.get(name="worker").outage_reported_at is None

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    client_for(None).get("/health/")
    assert len(mailoutbox) == 1


def test_the_balancers_check_serves_while_the_worker_is_silent(acme):
    """/health/web/ says whether this web machine can serve: a stopped worker (somewhere else)
    shows on /health/ but keeps no web machine out of rotation."""
    stop_the_worker()
    for tenant in (None, acme):
        response = client_for(tenant).get("/health/web/")
        assert response.status_code == 200
        assert set(response.json()["checks"]) == {"database", "migrations"}
        assert client_for(tenant).get("/health/").status_code == 503


def test_the_balancers_check_fails_with_unapplied_migrations(db):
    """A machine whose schema lacks a migration its code needs must not take requests."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'health' AND name LIKE '0006%'")
    response = client_for(None).get("/health/web/")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"]["ok"] is False

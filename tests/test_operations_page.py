"""The staff admin's operations page: staff only; the figures, the largest schemas, failed
tasks with a retry button (POST, audited); and the alerts, each at most once an hour."""

from datetime import timedelta

from django.utils import timezone
from django_q.models import Task

from nexuscore.audit.models import Event
from nexuscore.billing.models import WebhookEvent
from nexuscore.billing.webhooks import tell_staff_event_failed
from nexuscore.health.models import Heartbeat
from nexuscore.health.tasks import check_schema_pool
from tenants.models import PooledSchema
from tests.conftest import client_for
from tests.test_metrics import finish_task

PAGE = "/admin/operations/"


def test_staff_with_two_factor_see_the_figures(staff_with_mfa, acme):
    WebhookEvent.objects.create(
        event_id="evt_ops_1", event_type="invoice.paid", payload={}, status="failed",
        error="KeyError: 'lines'",
    )  # fmt: skip
    failed = finish_task("nexuscore.leads.tasks.import_csv", 7, error="ValueError: bad row 12")
    response = client_for(None, staff_with_mfa).get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Tasks in the queue" in page and "Schema pool" in page
    assert "Last worker heartbeat" in page
    assert "ValueError: bad row 12" in page and f"/admin/operations/tasks/{failed}/retry/" in page
    assert "evt_ops_1" in page and "KeyError" in page
    schemas = response.context["schemas"]
    assert "acme" in [s.schema_name for s in schemas] and len(schemas) <= 20
    assert all(s.bytes > 0 for s in schemas)
    assert "public" not in [s.schema_name for s in schemas]


def test_the_admin_home_links_to_it(staff_with_mfa):
    assert PAGE in client_for(None, staff_with_mfa).get("/admin/").content.decode()


def test_everyone_else_is_kept_out(staff, owner, acme):
    assert client_for(None).get(PAGE).status_code == 302  # anonymous: to the admin sign-in
    assert "/admin/login/" in client_for(None, owner).get(PAGE)["Location"]
    # staff without two-factor are not let in either
    assert client_for(None, staff).get(PAGE).status_code == 302
    assert client_for(acme, owner).get(PAGE).status_code == 404  # no admin on tenant hosts


def test_retry_queues_the_same_task_again_and_is_audited(staff_with_mfa):
    Heartbeat.objects.filter(name="worker").delete()
    failed = finish_task("nexuscore.health.tasks.worker_heartbeat", error="OperationalError")
    client = client_for(None, staff_with_mfa)
    assert client.get(f"{PAGE}tasks/{failed}/retry/").status_code == 405

    response = client.post(f"{PAGE}tasks/{failed}/retry/")
    assert response.status_code == 302 and response["Location"] == PAGE
    assert Heartbeat.objects.filter(name="worker").exists()  # it ran again (inline in tests)
    assert not Task.objects.filter(pk=failed).exists()
    event = Event.objects.get(event_type="operations.task_retried")
    assert event.actor == staff_with_mfa
    assert event.data["task"] == "nexuscore.health.tasks.worker_heartbeat"


def test_retry_needs_staff_and_csrf(staff_with_mfa, owner):
    failed = finish_task("nexuscore.health.tasks.worker_heartbeat", error="OperationalError")
    assert client_for(None, owner).post(f"{PAGE}tasks/{failed}/retry/").status_code == 302
    assert client_for(None).post(f"{PAGE}tasks/{failed}/retry/").status_code == 302
    strict = client_for(None, staff_with_mfa)
    strict.handler.enforce_csrf_checks = True
    assert strict.post(f"{PAGE}tasks/{failed}/retry/").status_code == 403
    assert Task.objects.filter(pk=failed, success=False).exists()
    assert not Event.objects.filter(event_type="operations.task_retried").exists()


def test_a_task_that_did_not_fail_cannot_be_retried(staff_with_mfa):
    done = finish_task("nexuscore.health.tasks.worker_heartbeat")
    response = client_for(None, staff_with_mfa).post(f"{PAGE}tasks/{done}/retry/")
    assert response.status_code == 404


# --- Alerts ----------------------------------------------------------------------------------


def _failed_event(number):
    return WebhookEvent.objects.create(
        event_id=f"evt_alert_{number}", event_type="invoice.paid", payload={}, status="failed",
        error="boom", attempts=5,
    )  # fmt: skip


def test_failed_stripe_events_are_emailed_at_most_once_an_hour(staff, mailoutbox):
    assert tell_staff_event_failed(str(_failed_event(1).pk)) == 1
    assert tell_staff_event_failed(str(_failed_event(2).pk)) == 0  # within the hour
    assert len(mailoutbox) == 1 and "evt_alert_1" in mailoutbox[0].subject


def test_an_empty_schema_pool_is_emailed_at_most_once_an_hour(staff, settings, mailoutbox):
    settings.SCHEMA_POOL_SIZE = 3
    assert PooledSchema.objects.exists() and check_schema_pool() == 0
    PooledSchema.objects.all().delete()
    assert check_schema_pool() == 1
    assert check_schema_pool() == 0  # not twice within the hour
    (alert,) = mailoutbox
    assert alert.to == [staff.email] and "schema pool is empty" in alert.subject


def test_a_full_pool_or_a_pool_of_zero_sends_nothing(staff, settings, mailoutbox):
    PooledSchema.objects.create(schema_name="pool_alert_test", fingerprint="x")
    assert check_schema_pool() == 0
    PooledSchema.objects.all().delete()
    settings.SCHEMA_POOL_SIZE = 0  # chosen: no pool
    assert check_schema_pool() == 0
    assert mailoutbox == []


def test_a_stopped_worker_is_emailed_after_five_minutes_once_an_hour(staff, mailoutbox):
    def stopped(minutes):
        Heartbeat.objects.update_or_create(
            name="worker",
            defaults={"beat_at": timezone.now() - timedelta(minutes=minutes),
                      "outage_reported_at": None},
        )  # fmt: skip
        client_for(None).get("/health/")

    stopped(4)
    assert mailoutbox == []
    stopped(6)
    assert len(mailoutbox) == 1
    stopped(20)  # another outage in the same hour
    assert len(mailoutbox) == 1

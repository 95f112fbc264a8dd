"""/metrics: refused without the token or an allowed address, and every figure moves with what
it measures: requests by view name and status, queries, task runs and failures, the queue,
Stripe events, the schema pool, organisations by status, the heartbeat."""

import uuid
from datetime import timedelta
from queue import Queue

import pytest
from django.utils import timezone
from django_q.models import OrmQ
from django_q.monitor import monitor
from django_q.tasks import async_task
from prometheus_client.parser import text_string_to_metric_families

from nexuscore.billing.models import WebhookEvent
from nexuscore.health.tasks import worker_heartbeat
from tenants.models import PooledSchema, Tenant
from tests.conftest import client_for

TOKEN = "a-long-random-metrics-token"


@pytest.fixture
def metrics_token(db, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []


def scrape(tenant=None, **headers) -> dict:
    """{(name, labels as a sorted tuple): value} of one scrape with the token."""
    response = client_for(tenant).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            values[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return values


def value(values, name, **labels):
    return values.get((name, tuple(sorted(labels.items()))), 0)


def test_nothing_configured_refuses_everyone(db, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", []
    assert client_for(None).get("/metrics").status_code == 404
    assert client_for(None).get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_a_wrong_or_missing_token_is_refused(metrics_token):
    assert client_for(None).get("/metrics").status_code == 404
    wrong = client_for(None).get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 404
    basic = client_for(None).get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}")
    assert basic.status_code == 404
    assert b"nexuscore_" not in wrong.content


def test_the_token_opens_it_on_the_public_host_only(metrics_token, acme):
    assert client_for(None).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    on_tenant = client_for(acme).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert on_tenant.status_code == 404


def test_an_allowed_address_needs_no_token(db, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.1.2.0/24", "192.0.2.7"]
    settings.TRUSTED_PROXY_COUNT = 1
    client = client_for(None)
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 200
    via_balancer = client.get("/metrics", REMOTE_ADDR="172.16.0.1", HTTP_X_FORWARDED_FOR="10.1.2.9")
    assert via_balancer.status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.8").status_code == 404
    # A client cannot vouch for itself: only the last hop our proxy added counts.
    spoofed = client.get(
        "/metrics", REMOTE_ADDR="172.16.0.1", HTTP_X_FORWARDED_FOR="192.0.2.7, 203.0.113.5"
    )
    assert spoofed.status_code == 404


def test_requests_are_counted_by_view_name_and_status_never_by_path(metrics_token, acme, owner):
    before = scrape()
    client = client_for(acme, owner)
    assert client.get("/leads/").status_code == 200
    assert client.get("/leads/").status_code == 200
    assert client_for(acme).get("/leads/").status_code == 302  # anonymous: sent to sign in
    after = scrape()

    ok = {"view": "leads:list", "status": "200"}
    assert (
        value(after, "nexuscore_http_requests_total", **ok)
        - value(before, "nexuscore_http_requests_total", **ok)
        == 2
    )
    count = "nexuscore_http_request_duration_seconds_count"
    assert value(after, count, **ok) - value(before, count, **ok) == 2
    assert value(after, "nexuscore_http_requests_total", view="leads:list", status="302") >= 1
    assert not [key for key in after if "/leads/" in str(key) or "acme" in str(key)]


def test_queries_per_request_are_observed(metrics_token, acme, owner):
    before = scrape()
    client_for(acme, owner).get("/leads/")
    after = scrape()
    total = "nexuscore_http_request_queries_sum"
    assert value(after, total, view="leads:list") - value(before, total, view="leads:list") >= 1
    runs = "nexuscore_http_request_queries_count"
    assert value(after, runs, view="leads:list") - value(before, runs, view="leads:list") == 1


def finish_task(func: str, *args, error: str = "") -> str:
    """Hand a finished task to django-q2's own monitor, as a cluster's worker does: it records
    the task (a failure when `error` is given) and sends post_execute. (The tests' inline mode
    raises a task's exception instead of recording it.) Returns the task id."""
    now = timezone.now()
    task = {
        "id": uuid.uuid4().hex,
        "name": f"test-{uuid.uuid4().hex[:8]}",
        "func": func,
        "args": args,
        "kwargs": {},
        "started": now,
        "stopped": now,
        "result": error or None,
        "success": not error,
        "sync": True,  # our test transaction: the monitor must not close the connection
    }
    results = Queue()
    results.put(task)
    results.put("STOP")
    monitor(results)
    return task["id"]


def test_task_runs_and_failures_are_counted_by_task(metrics_token):
    before = scrape()
    async_task("nexuscore.health.tasks.worker_heartbeat")  # runs inline in the tests
    failing = "nexuscore.billing.webhooks.process_webhook_event"
    finish_task(failing, "not-a-uuid", error="ValidationError: not a valid UUID")
    after = scrape()

    def moved(name, task):
        return value(after, name, task=task) - value(before, name, task=task)

    assert moved("nexuscore_task_runs_total", "nexuscore.health.tasks.worker_heartbeat") == 1
    assert moved("nexuscore_task_failures_total", "nexuscore.health.tasks.worker_heartbeat") == 0
    assert moved("nexuscore_task_runs_total", failing) == 1
    assert moved("nexuscore_task_failures_total", failing) == 1


def test_tasks_in_an_organisation_are_counted_by_the_function_they_ran(metrics_token, acme):
    from tenants.tasks import enqueue_in_schema

    before = scrape()
    enqueue_in_schema("acme", "nexuscore.health.tasks.worker_heartbeat")
    after = scrape()
    name = "nexuscore_task_runs_total"
    task = "nexuscore.health.tasks.worker_heartbeat"
    assert value(after, name, task=task) - value(before, name, task=task) == 1
    assert value(after, name, task="tenants.tasks.run_in_schema") == value(
        before, name, task="tenants.tasks.run_in_schema"
    )


def test_queue_length_and_the_oldest_task_age(metrics_token):
    OrmQ.objects.all().delete()
    assert value(scrape(), "nexuscore_queue_length") == 0
    now = timezone.now()
    OrmQ.objects.create(key="nexuscore", payload="x", lock=now - timedelta(minutes=7))
    OrmQ.objects.create(key="nexuscore", payload="y", lock=now - timedelta(minutes=1))
    OrmQ.objects.create(key="nexuscore", payload="z", lock=now + timedelta(minutes=3))  # taken
    values = scrape()
    assert value(values, "nexuscore_queue_length") == 3
    assert 7 * 60 <= value(values, "nexuscore_queue_oldest_task_age_seconds") < 8 * 60


def test_stripe_events_pending_and_failed(metrics_token):
    before = scrape()
    for index, status in enumerate(["pending", "pending", "failed", "processed"]):
        WebhookEvent.objects.create(
            event_id=f"evt_metrics_{index}", event_type="invoice.paid", payload={}, status=status
        )
    after = scrape()
    name = "nexuscore_stripe_events"
    assert value(after, name, status="pending") - value(before, name, status="pending") == 2
    assert value(after, name, status="failed") - value(before, name, status="failed") == 1


def test_schema_pool_size_organisations_and_heartbeat(metrics_token, globex):
    pool = PooledSchema.objects.count()
    values = scrape()
    assert value(values, "nexuscore_schema_pool_size") == pool
    active = value(values, "nexuscore_organisations", status="active")
    assert active == Tenant.objects.filter(status="active").exclude(schema_name="public").count()

    globex.status = Tenant.Status.SUSPENDED
    globex.save()
    PooledSchema.objects.create(schema_name="pool_metrics_test", fingerprint="x")
    worker_heartbeat()
    values = scrape()
    assert value(values, "nexuscore_schema_pool_size") == pool + 1
    assert value(values, "nexuscore_organisations", status="active") == active - 1
    assert value(values, "nexuscore_organisations", status="suspended") >= 1
    assert 0 <= value(values, "nexuscore_worker_heartbeat_age_seconds") < 60


def test_the_gauges_cost_one_query_each_whatever_the_data(
    metrics_token, django_assert_max_num_queries
):
    # queue, failed tasks, stripe, pool, organisations, heartbeat; plus the request's own
    # session-free host lookup: a handful, not one per row.
    with django_assert_max_num_queries(10):
        scrape()

"""Time the Stripe webhook: acknowledgement latency and processing throughput, 1,000 events.

1. Acknowledgement: 1,000 signed `customer.subscription.updated` events (each newer than the
   last, for acme's subscription) are POSTed to /webhooks/stripe/ in this process through
   Django's test client (no network): verify the signature, store the WebhookEvent, enqueue,
   answer. No worker runs yet, so this is the time Stripe waits for its 200.
2. Processing: one `manage.py qcluster` with Q_WORKERS=1 works through the queue; throughput is
   the events processed per second between the first and the last one finished (the cluster's
   start-up is left out; its polling is not).

Run by `python -m bench` with DATABASE_URL pointing at the bench database; prints its
JSON lines to stdout.
"""
# ruff: noqa: E402  (Django is set up before the models are imported)

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexuscore.settings")
django.setup()

from django.conf import settings
from django.test import Client

from bench.database import BASE_DIR
from bench.report import BenchFailure, median, metric, p95, progress
from nexuscore.billing.models import Plan, Subscription, WebhookEvent
from tenants.models import Tenant

EVENTS = 1000
SECRET = "whsec_bench_nexuscore"
PROCESSING_TIMEOUT_SECONDS = 600


def subscription_event(tenant, number: int, now: int) -> dict:
    return {
        "id": f"evt_bench_{number:06d}",
        "object": "event",
        "type": "customer.subscription.updated",
        "created": now + number,
        "api_version": "2026-10-28.endive",
        "data": {
            "object": {
                "id": "sub_bench_acme",
                "object": "subscription",
                "customer": "cus_bench_acme",
                "status": "active",
                "metadata": {"tenant_id": str(tenant.pk)},
                "cancel_at_period_end": number % 2 == 1,
                "items": {
                    "data": [
                        {
                            "price": {"id": "price_bench_growth_month"},
                            "current_period_start": now,
                            "current_period_end": now + 30 * 86400,
                        }
                    ]
                },
            }
        },
    }


def signed_post(client: Client, event: dict) -> float:
    """POST one event as Stripe would; the milliseconds until the answer."""
    body = json.dumps(event).encode()
    timestamp = int(time.time())
    digest = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    started = time.perf_counter()
    response = client.post(
        "/webhooks/stripe/",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={timestamp},v1={digest.hexdigest()}",
    )
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise BenchFailure(f"the webhook answered {response.status_code}: {response.content!r}")
    return elapsed


def process_with_one_worker() -> list:
    """Run one qcluster worker until every bench event is processed; their processed_at."""
    env = {**os.environ, "Q_WORKERS": "1", "Q_SYNC": "0"}
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its worker processes too are stopped with its group below
    )
    bench_events = WebhookEvent.objects.filter(event_id__startswith="evt_bench_")
    deadline = time.monotonic() + PROCESSING_TIMEOUT_SECONDS
    try:
        while bench_events.exclude(status=WebhookEvent.Status.PROCESSED).exists():
            if cluster.poll() is not None:
                raise BenchFailure("the qcluster stopped before processing every event")
            if time.monotonic() > deadline:
                raise BenchFailure("the events were not all processed in time")
            time.sleep(0.25)
    finally:
        os.killpg(cluster.pid, signal.SIGTERM)
        try:
            cluster.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait()
    failed = bench_events.exclude(error="").count()
    if failed:
        raise BenchFailure(f"{failed} bench events failed at least once")
    return sorted(bench_events.values_list("processed_at", flat=True))


def main() -> None:
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    tenant = Tenant.objects.get(schema_name="acme")
    Plan.objects.filter(sku="growth-month").update(stripe_price_id="price_bench_growth_month")
    Subscription.objects.live().filter(tenant=tenant).update(
        stripe_subscription_id="sub_bench_acme", stripe_customer_id="cus_bench_acme"
    )
    client = Client(HTTP_HOST="localhost")
    now = int(time.time())
    warm_up = {**subscription_event(tenant, 0, now - 10), "id": "evt_warm_up"}
    signed_post(client, warm_up)  # the first request of a process loads a lot; not counted
    progress(f"posting {EVENTS} signed webhook events")
    timings = [signed_post(client, subscription_event(tenant, n, now)) for n in range(EVENTS)]
    metric(
        "webhook_ack_median_ms",
        round(median(timings), 2),
        "ms",
        p95=round(p95(timings), 2),
        samples=len(timings),
    )
    progress("processing them with one qcluster worker")
    finished = process_with_one_worker()
    span = (finished[-1] - finished[0]).total_seconds()
    rate = (len(finished) - 1) / span if span > 0 else None
    metric(
        "webhook_processing_per_second",
        round(rate, 1) if rate else None,
        "events/s",
        workers=1,
        events=len(finished),
    )


if __name__ == "__main__":
    main()

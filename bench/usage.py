"""Time record_usage(): operations per second from one client and from eight at once.

Each client is a thread with its own database connection, all recording against one
organisation's counter (the hardest case: every call updates the same row). The limit is set
high enough never to refuse. Run by `python -m bench` with DATABASE_URL pointing at the
bench database; prints its JSON lines to stdout.
"""
# ruff: noqa: E402  (Django is set up before the models are imported)

import os
import threading
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexuscore.settings")
django.setup()

from django.db import connection

from bench.report import metric, progress
from nexuscore.quotas.models import record_usage
from tenants.models import Tenant

OPERATIONS_PER_CLIENT = 500


def run_clients(tenant, clients: int) -> float:
    """Operations per second with `clients` threads recording at once."""
    start_line = threading.Barrier(clients + 1)

    def client():
        start_line.wait()
        for _ in range(OPERATIONS_PER_CLIENT):
            record_usage(tenant, "leads.created", metadata={"bench": True})
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start_line.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return clients * OPERATIONS_PER_CLIENT / (time.perf_counter() - started)


def main() -> None:
    tenant = Tenant.objects.get(schema_name="acme")
    subscription = tenant.subscriptions.live().select_related("plan").get()
    plan = subscription.plan
    plan.limits = {**plan.limits, "leads_per_month": 10_000_000}
    plan.save(update_fields=["limits"])
    for clients in (1, 8):
        progress(f"record_usage with {clients} client(s)")
        rate = run_clients(tenant, clients)
        metric(
            f"record_usage_ops_{clients}_client{'s' if clients > 1 else ''}",
            round(rate),
            "ops/s",
            clients=clients,
            operations=clients * OPERATIONS_PER_CLIENT,
            note="atomic, race-free increments of one organisation's counter, event included",
        )


if __name__ == "__main__":
    main()

"""Time creating organisations, in a Django process on the bench database.

Three ways a schema comes to be, each over TENANTS organisations:
- filling the pool: `fill_schema_pool()` migrates schemas ahead of time (off the request path);
- `provision_tenant()` with the pool filled: the schema step is a rename;
- django-tenants' default, `Tenant(...).save()` with the pool empty: every migration runs.
The rename alone is timed too, as `claim_pooled_schema()` in a transaction that is rolled back.

Run by `python -m bench` with DATABASE_URL pointing at the bench database; prints its
JSON lines to stdout.
"""
# ruff: noqa: E402  (Django is set up before the models are imported)

import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexuscore.settings")
django.setup()

from django.db import transaction
from django.db.migrations.loader import MigrationLoader
from stdnum.sg.uen import calc_local_company_check_digit

from bench.report import median, metric, p95, progress
from nexuscore.accounts.models import User
from nexuscore.onboarding.provisioning import provision_tenant
from tenants.models import PooledSchema, Tenant
from tenants.schemas import app_labels, claim_pooled_schema, fill_schema_pool

TENANTS = 20
GOAL_MS = 100


def elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def uen(number: int) -> str:
    """A valid local-company UEN, unique per `number` (registered in 2024)."""
    digits = f"2024{number:05d}"
    return digits + calc_local_company_check_digit(digits)


def tenant_migration_count() -> int:
    """How many migrations a new schema receives (the cost the pool takes off the request)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    labels = app_labels(tenant=True)
    return sum(1 for app_label, _ in loader.disk_migrations if app_label in labels)


def bench_owner() -> User:
    return User.objects.create_user("bench-owner@nexuscore.test", None, "Bench Owner")


def fill_pool() -> None:
    start = time.perf_counter()
    added = fill_schema_pool(TENANTS)
    per_schema = elapsed_ms(start) / added
    metric(
        "schema_pool_fill_per_schema_ms",
        round(per_schema, 1),
        "ms",
        schemas=added,
        migrations=tenant_migration_count(),
        note="migrating one pooled schema ahead of time: the cost moved off the request path",
    )


def time_schema_claims() -> None:
    """Rename a pooled schema and roll the rename back, TENANTS times."""
    durations = []
    for number in range(TENANTS):
        with transaction.atomic():
            start = time.perf_counter()
            claimed = claim_pooled_schema(f"claim-{number:03d}")
            durations.append(elapsed_ms(start))
            transaction.set_rollback(True)
        if not claimed:
            raise SystemExit("bench: no pooled schema to claim")
    metric(
        "schema_claim_median_ms",
        round(median(durations), 2),
        "ms",
        p95=round(p95(durations), 2),
        samples=len(durations),
        note="the schema step alone: claim_pooled_schema() (lock, rename, delete the pool row)",
    )


def time_provisioning(owner) -> None:
    durations = []
    for number in range(1, TENANTS + 1):
        if not PooledSchema.objects.exists():
            raise SystemExit("bench: the schema pool ran dry")
        start = time.perf_counter()
        provision_tenant(
            name=f"Pooled Organisation {number}",
            slug=f"pooled-{number:03d}",
            owner=owner,
            uen=uen(number),
        )
        durations.append(elapsed_ms(start))
    metric(
        "provision_tenant_median_ms",
        round(median(durations), 1),
        "ms",
        at_most=GOAL_MS,
        samples=len(durations),
        note="provision_tenant() with the schema pool filled, commit included",
    )
    metric("provision_tenant_p95_ms", round(p95(durations), 1), "ms", samples=len(durations))


def time_default_creation(owner) -> None:
    """django-tenants' own way: save() creates the schema and runs every tenant migration."""
    if PooledSchema.objects.exists() or not Tenant.auto_create_schema:
        raise SystemExit("bench: expected an empty pool and auto_create_schema")
    durations = []
    for number in range(1, TENANTS + 1):
        tenant = Tenant(
            schema_name=f"migrated-{number:03d}",
            name=f"Migrated Organisation {number}",
            owner=owner,
            uen=uen(1000 + number),
        )
        start = time.perf_counter()
        tenant.save(verbosity=0)
        durations.append(elapsed_ms(start))
    metric(
        "django_tenants_create_median_ms",
        round(median(durations), 1),
        "ms",
        samples=len(durations),
        migrations=tenant_migration_count(),
        compare_to="provision_tenant_median_ms",
        note="Tenant(...).save() with auto_create_schema: creates the schema and migrates it",
    )
    metric("django_tenants_create_p95_ms", round(p95(durations), 1), "ms", samples=len(durations))


def main() -> None:
    owner = bench_owner()
    progress(f"filling the schema pool with {TENANTS} schemas")
    fill_pool()
    time_schema_claims()
    progress(f"provisioning {TENANTS} organisations from the pool")
    time_provisioning(owner)
    progress(f"creating {TENANTS} organisations the django-tenants way")
    time_default_creation(owner)


if __name__ == "__main__":
    main()

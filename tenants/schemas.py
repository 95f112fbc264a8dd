"""Tenant schemas: the migration fingerprint, the pool of pre-migrated schemas, and dropping.

Creating an organisation must not wait for its migrations. `fill_schema_pool()` migrates a few
schemas ahead of time, each tagged with the fingerprint of the migrations it received;
provisioning renames one of them (0.3 ms) instead of running the migrations. When the code's
migrations change, the fingerprint changes and stale pooled schemas are dropped, never used.
"""

import hashlib
import logging
import multiprocessing
import sys
import uuid
from functools import cache
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import schema_exists

from tenants.models import PooledSchema

log = logging.getLogger(__name__)


def app_labels(tenant: bool) -> set[str]:
    """Labels of the apps whose tables live in tenant schemas (or in public)."""
    names = settings.TENANT_APPS if tenant else settings.SHARED_APPS
    return {config.label for config in apps.get_app_configs() if config.name in names}


@cache
def migrations_fingerprint() -> str:
    """A hash of every tenant-app migration file, names and contents."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    labels = app_labels(tenant=True)
    digest = hashlib.sha256()
    for key in sorted(loader.disk_migrations):
        if key[0] in labels:
            module = sys.modules[loader.disk_migrations[key].__module__]
            digest.update(f"{key[0]}.{key[1]}\n".encode())
            digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def drop_schema(schema_name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {quote(schema_name)} CASCADE")


def create_migrated_schema(schema_name: str, rollout=None) -> None:
    """Create `schema_name` with every tenant migration applied, in one transaction.

    `rollout` (a `schema_migrations.Rollout` from an empty schema) carries the operations with
    their project states, prepared once (about 1 s); each schema then costs only its SQL (about
    0.1 s, against about 1 s for a `migrate_schemas` of its own). Without one, it is prepared here.
    """
    from tenants.schema_migrations import Rollout

    rollout = rollout or Rollout(None)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA {quote(schema_name)}")
        rollout.apply(schema_name)


def _create_pooled_schema(rollout, fingerprint: str) -> str:
    schema_name = f"pool_{uuid.uuid4().hex[:16]}"
    with transaction.atomic():
        create_migrated_schema(schema_name, rollout)
        PooledSchema.objects.create(schema_name=schema_name, fingerprint=fingerprint)
    return schema_name


_fill_rollout = None  # prepared before the workers of a parallel fill are forked


def _create_pooled_schema_in_worker(fingerprint: str) -> str:
    return _create_pooled_schema(_fill_rollout, fingerprint)


def fill_schema_pool(size: int | None = None, *, workers: int = 1) -> int:
    """Drop stale pooled schemas and migrate new ones until `size` are ready; return how many
    were added. Safe to run twice or at once in two processes (the pool may briefly overfill).

    `workers` > 1 creates them in that many forked processes (seed_scale fills hundreds).
    """
    global _fill_rollout
    from tenants.schema_migrations import Rollout

    size = settings.SCHEMA_POOL_SIZE if size is None else size
    fingerprint = migrations_fingerprint()
    for stale in PooledSchema.objects.exclude(fingerprint=fingerprint):
        log.info("dropping stale pooled schema %s", stale.schema_name)
        drop_schema(stale.schema_name)
        stale.delete()
    for pooled in PooledSchema.objects.all():
        if not schema_exists(pooled.schema_name):
            pooled.delete()
    missing = size - PooledSchema.objects.filter(fingerprint=fingerprint).count()
    if missing <= 0:
        return 0
    rollout = Rollout(None)
    if workers <= 1 or missing == 1:
        for _ in range(missing):
            _create_pooled_schema(rollout, fingerprint)
        return missing
    _fill_rollout = rollout
    connections.close_all()  # each worker opens its own
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            created = pool.map(_create_pooled_schema_in_worker, [fingerprint] * missing)
    finally:
        _fill_rollout = None
    return len(created)


def claim_pooled_schema(new_name: str) -> bool:
    """Rename a ready pooled schema to `new_name` inside the caller's transaction.

    Returns False when none is ready; the caller then migrates a fresh schema.
    """
    pooled = (
        PooledSchema.objects.select_for_update(skip_locked=True)
        .filter(fingerprint=migrations_fingerprint())
        .first()
    )
    if pooled is None:
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER SCHEMA {quote(pooled.schema_name)} RENAME TO {quote(new_name)}")
    pooled.delete()
    return True

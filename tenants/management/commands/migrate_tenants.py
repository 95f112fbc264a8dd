"""manage.py migrate_tenants: the deploy's migrate, fast at any number of organisations.

1. Takes an advisory lock, so two releases never migrate at once (the second waits).
2. Migrates `public` with Django's migrate (`migrate_schemas --shared`).
3. Migrates every organisation's schema and every pooled schema that is behind, in worker
   processes, each schema in its own transaction (tenants/schema_migrations.py); schemas that
   are current are found in bulk and skipped. Progress on stderr, a result per schema on stdout.
4. Tops up the schema pool (`fill_schema_pool`).

Exits with status 1 when a schema failed; the others are migrated, and the next run retries the
failed ones.
"""

import os
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from tenants.schema_migrations import SchemaResult, migrate_all_schemas
from tenants.schemas import fill_schema_pool

LOCK_KEY = "nexuscore.migrate_tenants"


class Progress:
    """One line on stderr, rewritten in place on a terminal; elsewhere a line every 10%."""

    def __init__(self, stream):
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.failed = 0
        self.next_line = 0.0

    def __call__(self, result: SchemaResult, done: int, total: int) -> None:
        self.failed += not result.ok
        share = done / total
        if not self.tty and share < self.next_line and done != total:
            return
        self.next_line = share + 0.1
        elapsed = time.monotonic() - self.started
        line = (
            f"migrating schemas: {done}/{total} ({share:.0%}), {self.failed} failed, "
            f"{elapsed:.1f} s"
        )
        if done < total:
            line += f", about {elapsed / done * (total - done):.0f} s left"
        end = "\n" if not self.tty or done == total else ""
        self.stream.write(("\r\033[K" if self.tty else "") + line + end)
        self.stream.flush()


class Command(BaseCommand):
    help = "Migrate public, then every organisation's and pooled schema that is behind, in bulk."

    def add_arguments(self, parser):
        parser.add_argument(
            "--workers",
            type=int,
            default=os.cpu_count() or 2,
            help="Worker processes migrating schemas (default: the number of CPUs).",
        )
        parser.add_argument(
            "--lock-timeout",
            type=float,
            default=10.0,
            help="Seconds a schema may wait for a table lock before it fails (default 10).",
        )
        parser.add_argument(
            "--no-pool", action="store_true", help="Do not top up the schema pool afterwards."
        )

    def handle(self, *args, workers, lock_timeout, no_pool, verbosity, **options):
        # A connection of its own: the default one is closed before the workers are forked.
        lock = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with lock.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [LOCK_KEY])
                if not cursor.fetchone()[0]:
                    self.stderr.write("Another migrate_tenants is running; waiting for it.")
                    cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [LOCK_KEY])
            self.migrate(workers, lock_timeout, no_pool, verbosity)
        finally:
            lock.close()  # releases the advisory lock

    def migrate(self, workers, lock_timeout, no_pool, verbosity):
        call_command(
            "migrate_schemas", shared=True, interactive=False, verbosity=max(verbosity - 1, 0)
        )
        progress = Progress(sys.stderr) if verbosity else None
        outcome = migrate_all_schemas(
            workers=workers, lock_timeout_ms=int(lock_timeout * 1000), on_result=progress
        )
        if any(result.skipped for result in outcome.results):
            # A pooled schema became an organisation before it could be migrated: once more.
            again = migrate_all_schemas(workers=workers, lock_timeout_ms=int(lock_timeout * 1000))
            outcome.results += again.results
            outcome.seconds += again.seconds
        for result in sorted(outcome.results, key=lambda r: r.schema_name):
            kind = "pooled schema" if result.pooled else "schema"
            if not result.ok:
                self.stdout.write(
                    self.style.ERROR(f"FAILED {kind} {result.schema_name}: ") + result.error
                )
            elif verbosity >= 2:
                what = result.skipped or ", ".join(result.migrations) or "recorded"
                took = f"{result.seconds:.2f} s"
                self.stdout.write(f"ok {kind} {result.schema_name} ({took}): {what}")
        added = 0 if no_pool else fill_schema_pool()
        if verbosity:
            self.stdout.write(
                f"Tenant schemas: {outcome.current} current, {len(outcome.migrated)} migrated, "
                f"{len(outcome.failed)} failed in {outcome.seconds:.1f} s"
                + ("" if no_pool else f"; schema pool: {added} added")
                + "."
            )
        if outcome.failed:
            raise CommandError(
                f"{len(outcome.failed)} schema(s) failed to migrate (listed above); the others "
                "are migrated. Fix the cause and run migrate_tenants again: it retries them."
            )

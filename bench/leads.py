"""The leads lines of the bench: a tenant with 100,000 leads.

    python -m bench.leads          # on its own: a throw-away database, then dropped
    bench.leads.report(env)        # from bench, on the bench's database

It adds 100,000 leads to acme, then measures through gunicorn (2 sync workers, wrk with 16
connections, as bench.throughput does) the signed-in list page and a search beside a
bare Django view in the same run; then the CSV import of 10,000 rows and the peak memory of
exporting 100,000 rows, each in a Django process of its own. JSON lines on stdout.

The subcommands `seed`, `import` and `export` are the steps that run inside Django.
"""

import os
import subprocess
import sys
import time

from bench import throughput
from bench.report import BenchFailure, metric, progress

LEADS = 100_000
IMPORT_ROWS = 10_000
IMPORT_GOAL_S = 10
PAGES = [("leads_list", "/leads/", "Leads"), ("leads_search", "/leads/?q=tan", "Leads")]
BENCH_DATABASE = "nexuscore_bench_leads"
FLOOR_PATH = "/bench-floor/"  # bench/floor_urls.py


# --- Steps inside Django ------------------------------------------------------------------------


def _setup_django():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexuscore.settings")
    django.setup()


def seed() -> None:
    """Add LEADS demo leads to acme and refresh the planner's statistics."""
    _setup_django()
    from django.db import connection
    from django_tenants.utils import schema_context

    from nexuscore.demo.leads import create_demo_leads
    from tenants.models import Membership, Tenant

    tenant = Tenant.objects.get(schema_name="acme")
    people = [m.user for m in Membership.objects.filter(tenant=tenant).select_related("user")]
    started = time.monotonic()
    created = create_demo_leads(tenant, people, LEADS, add_to_existing=True)
    with schema_context("acme"), connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE leads_lead")
    progress(f"added {created} leads to acme in {time.monotonic() - started:.0f} s")


def time_import() -> None:
    """Import IMPORT_ROWS rows through the same code as the import page, the task inline."""
    _setup_django()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django_tenants.utils import schema_context

    from nexuscore.accounts.models import User
    from nexuscore.leads.imports import run_import, start_import
    from nexuscore.leads.models import LeadImport

    rows = "".join(
        f"Bench Person {n},bench{n}@example.sg,9{n:07d},Bench Company {n % 97}\n"
        for n in range(IMPORT_ROWS)
    )
    content = f"Name,Email,Phone,Company\n{rows}".encode()
    owner = User.objects.get(email="owner@acme.test")
    with schema_context("acme"):
        started = time.perf_counter()
        upload = SimpleUploadedFile("bench.csv", content, "text/csv")
        lead_import = start_import(upload, LeadImport.Duplicates.SKIP, user=owner)
        LeadImport.objects.filter(pk=lead_import.pk).update(status=LeadImport.Status.QUEUED)
        run_import(str(lead_import.pk))
        elapsed = time.perf_counter() - started
        lead_import.refresh_from_db()
        # The media folder is the developer's, not the bench database's: leave nothing there.
        lead_import.file.delete(save=False)
        if lead_import.report:
            lead_import.report.delete(save=False)
    metric(
        "leads_import_10k_s",
        round(elapsed, 2),
        "s",
        at_most=IMPORT_GOAL_S,
        created=lead_import.created,
        rejected=lead_import.rejected,
    )


def measure_export() -> None:
    """Stream the export of every lead of acme through the view; report the peak memory the
    Python heap grew by (tracemalloc) and the time."""
    _setup_django()
    import tracemalloc

    from django.test import Client
    from django_tenants.utils import schema_context

    from nexuscore.accounts.models import User

    client = Client(HTTP_HOST="acme.localhost")
    with schema_context("acme"):
        client.force_login(User.objects.get(email="owner@acme.test"))
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get("/leads/export.csv")
    size = rows = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        rows += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    metric("leads_export_peak_mb", round(peak / 1_000_000, 1), "MB", rows=rows - 1, bytes=size)
    metric("leads_export_s", round(elapsed, 1), "s", rows=rows - 1)


# --- Driving it ---------------------------------------------------------------------------------


def _step(name: str, env: dict) -> None:
    """Run a step in a Django process of its own; its JSON lines go to our stdout."""
    command = [sys.executable, "-m", "bench.leads", name]
    result = subprocess.run(
        command, env=env, cwd=throughput.BASE_DIR, stdout=subprocess.PIPE, text=True
    )
    for line in result.stdout.splitlines():
        print(line, file=sys.stdout if line.startswith('{"metric"') else sys.stderr, flush=True)
    if result.returncode != 0:
        raise BenchFailure(f"the leads bench step {name!r} failed (see above)")


def measure_signed_in_floor(env: dict, wrk) -> throughput.Load:
    """The bound on every signed-in page: bench/floor.py, served and loaded the same
    way as the list."""
    floor_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.floor_settings"}
    with throughput.gunicorn("nexuscore.wsgi", floor_env) as port:
        headers = {"Host": f"{throughput.TENANT_HOST}:{port}", "Cookie": throughput.sign_in(port)}
        status, _, body = throughput.fetch(port, FLOOR_PATH, headers)
        if status != 200 or body != b"signed-in floor":
            raise BenchFailure(f"GET {FLOOR_PATH} answered {status}; not timing it")
        progress(f"loading the signed-in floor for {throughput.SECONDS} s")
        return throughput.load(wrk, port, headers, FLOOR_PATH)


def report(env: dict) -> None:
    """Every leads line, on the database `env` names (migrated and seeded with the demo)."""
    progress(f"adding {LEADS:,} leads to acme")
    _step("seed", env)
    wrk = throughput.ensure_wrk()
    bare = throughput.measure_bare_view(env, wrk)
    throughput.report_load("leads_bare_view", bare)
    floor = measure_signed_in_floor(env, wrk)
    throughput.report_load("signed_in_floor", floor)
    metric(
        "signed_in_floor_ratio",
        round(floor.rps / bare.rps, 3),
        "ratio",
        note="a page that only checks the session, user and membership"
        " (bench/floor_urls.py): no signed-in page can do better",
    )
    with throughput.gunicorn("nexuscore.wsgi", env) as port:
        headers = {"Host": f"{throughput.TENANT_HOST}:{port}", "Cookie": throughput.sign_in(port)}
        for name, path, expected in PAGES:
            status, _, body = throughput.fetch(port, path, headers)
            if status != 200 or expected.encode() not in body:
                raise BenchFailure(f"GET {path} answered {status}; not timing it")
            progress(f"loading {path} for {throughput.SECONDS} s")
            result = throughput.load(wrk, port, headers, path)
            throughput.report_load(name, result, p95_goal=throughput.P95_GOAL_MS)
            metric(
                f"{name}_ratio",
                round(result.rps / bare.rps, 3),
                "ratio",
                at_least=throughput.RATIO_GOAL,
                note=f"{name}_rps / leads_bare_view_rps, {LEADS:,} leads in the schema",
            )
    progress(f"importing {IMPORT_ROWS:,} rows")
    _step("import", env)
    progress("exporting every lead")
    _step("export", env)


def main() -> int:
    """On its own: a throw-away database beside the developer's, dropped at the end."""
    from bench import database
    from bench.__main__ import bench_environment, run_step

    with database.scratch_database(BENCH_DATABASE) as (url, _):
        env = bench_environment(url)
        try:
            run_step("migrating", ["manage.py", "migrate_tenants", "-v", "0"], env)
            run_step("loading the demo organisations", ["manage.py", "seed_demo"], env)
            report(env)
        except BenchFailure as failure:
            progress(f"FAILED: {failure}")
            return 1
    return 0


if __name__ == "__main__":
    steps = {"seed": seed, "import": time_import, "export": measure_export}
    if len(sys.argv) > 1:
        steps[sys.argv[1]]()
        sys.exit(0)
    sys.exit(main())

"""Where a signed-in page's time goes, measured in one Django process.

    python -m bench.pages              # a throw-away database with the demo and 100,000 acme leads
    python -m bench.pages --profile /leads/   # and a cProfile of that page, top functions
    BENCH_PAGES_KEEP=1 python -m bench.pages  # keep the database for the next run

For each main page of an organisation's host, signed in as acme's owner through the sign-in form
(the session is the one a browser gets): the median time of REPEAT requests through Django's test
client with DEBUG off, the SQL round trips and their time (every query through Django's cursor;
the connection health check's `SELECT 1` bypasses it and is counted apart), and the bytes of
HTML. The signed-in floor (bench/floor_urls.py) is measured beside them. These are the numbers
docs/benchmarks.md's in-process table shows; `make bench` measures the same pages under load.
"""

import cProfile
import io
import os
import pstats
import statistics
import subprocess
import sys
import time

from bench.report import metric, progress

REPEAT = 150
HOST = "acme.localhost"
PAGES = [
    ("floor", "/bench-floor/"),
    ("dashboard", "/"),
    ("leads_list", "/leads/"),
    ("leads_search", "/leads/?q=tan"),
    ("lead_detail", None),  # a lead of acme's, found at run time
    ("team", "/team/"),
    ("usage", "/usage/"),
    ("invoices", "/invoices/"),
    ("settings", "/settings/"),
    ("activity", "/activity/"),
    ("privacy_inbox", "/privacy/requests/"),
]
BENCH_DATABASE = "nexuscore_bench_pages"


class QueryCounter:
    """Counts the queries through Django's cursors and the time they take (execute_wrapper)."""

    def __init__(self):
        self.count, self.seconds = 0, 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


def signed_in_client():
    from django.test import Client

    client = Client(HTTP_HOST=HOST)
    response = client.post(
        "/accounts/login/", {"login": "owner@acme.test", "password": "nexuscore-demo"}
    )
    if response.status_code != 302:
        raise SystemExit(f"signing in answered {response.status_code}")
    return client


def measure(client, path: str) -> dict:
    from django.db import connection

    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"GET {path} answered {response.status_code}")
    size = len(response.content)
    durations, counts, sql = [], [], []
    for _ in range(REPEAT):
        counter = QueryCounter()
        with connection.execute_wrapper(counter):
            started = time.perf_counter()
            client.get(path)
            durations.append(time.perf_counter() - started)
        counts.append(counter.count)
        sql.append(counter.seconds)
    return {
        "ms": round(statistics.median(durations) * 1000, 2),
        "queries": max(counts),
        "sql_ms": round(statistics.median(sql) * 1000, 2),
        "bytes": size,
    }


def profile(client, path: str, top: int = 60) -> str:
    profiler = cProfile.Profile()
    for _ in range(REPEAT):
        profiler.runcall(client.get, path)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def run(profile_path: str | None = None) -> None:
    """Inside Django (DJANGO_SETTINGS_MODULE=bench.floor_settings, DATABASE_URL set)."""
    import django

    django.setup()
    from django.conf import settings
    from django_tenants.utils import schema_context

    from nexuscore.leads.models import Lead

    settings.ALLOWED_HOSTS = ["*"]
    with schema_context("acme"):
        lead = Lead.objects.order_by("-created_at").first()
    client = signed_in_client()
    for name, path in PAGES:
        path = path or f"/leads/{lead.pk}/"
        numbers = measure(client, path)
        details = {key: numbers[key] for key in ("queries", "sql_ms", "bytes")}
        metric(f"page_{name}_ms", numbers["ms"], "ms", path=path, **details)
    if profile_path:
        progress(profile(client, profile_path))


def main() -> int:
    from bench import database
    from bench.__main__ import bench_environment, run_step

    profile_path = sys.argv[sys.argv.index("--profile") + 1] if "--profile" in sys.argv else ""
    # BENCH_PAGES_KEEP=1: build the database once and keep it, for profiling again and again.
    keep = bool(os.environ.get("BENCH_PAGES_KEEP"))
    with database.scratch_database(BENCH_DATABASE, keep=keep) as (url, made):
        env = bench_environment(url)
        # A kept database follows the code's migrations too.
        run_step("migrating", ["manage.py", "migrate_tenants", "-v", "0"], env)
        if made:
            run_step("loading the demo organisations", ["manage.py", "seed_demo"], env)
            run_step("adding 100,000 leads to acme", ["-m", "bench.leads", "seed"], env)
        floor_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.floor_settings"}
        progress("measuring the pages")
        extra = ["--profile", profile_path] if profile_path else []
        command = [sys.executable, "-m", "bench.pages", "run", *extra]
        subprocess.run(command, env=floor_env, cwd=database.BASE_DIR, check=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "run":
        path = sys.argv[sys.argv.index("--profile") + 1] if "--profile" in sys.argv else None
        run(path)
        sys.exit(0)
    sys.exit(main())

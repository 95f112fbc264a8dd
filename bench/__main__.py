"""`python -m bench` (`make bench`): build the bench database, time, clean up.

1. Create `nexuscore_bench` afresh beside the developer's database (database.py).
2. Migrate it and load the demo organisations with manage.py, as `make prepare` does.
3. Time provisioning, record_usage() and an invoice PDF in Django processes on it
   (provisioning.py, usage.py, pdf.py).
4. Load the acme dashboard and a bare Django view through gunicorn (throughput.py); the leads
   lines (bench/leads.py), webhooks and privacy exports.
5. Add 1,000 organisations and load them as the Procfile serves them (load.py); deploys at
   those 1,000 organisations (migrations.py).
6. Drop the bench database, whatever happened.

Results are JSON lines on stdout; progress and errors go to stderr. The exit status is 1 when a
step failed.
"""

import os
import subprocess
import sys
import time

from bench import database, load, throughput
from bench import leads as leads_bench
from bench import migrations as migrations_bench
from bench.report import BenchFailure, progress


def bench_environment(database_url: str) -> dict[str, str]:
    """The environment of every process the bench starts: the bench database, DEBUG off, the
    development settings (production would redirect to HTTPS), tasks queued rather than run,
    and no INFO logging in the timed code."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "nexuscore.settings",
        "DJANGO_DEBUG": "0",
        "NEXUSCORE_ENV": "development",
        "NEXUSCORE_BASE_DOMAIN": "localhost",
        "Q_SYNC": "0",
        "LOG_LEVEL": "WARNING",
        # The bench's sign-ins name their own addresses (throughput.sign_in).
        "TRUSTED_PROXY_COUNT": "1",
    }


def run_step(description: str, arguments: list[str], env: dict[str, str]) -> None:
    """Run `python <arguments>` in the project folder; stop the bench if it fails."""
    progress(description)
    command = [sys.executable, *arguments]
    result = subprocess.run(command, env=env, cwd=database.BASE_DIR, capture_output=True, text=True)
    if result.returncode != 0:
        raise BenchFailure(f"{' '.join(arguments)} failed:\n{result.stdout}{result.stderr}")


def time_in_django(module: str, env: dict[str, str]) -> None:
    """Run a timing module in a Django process of its own on the bench database. Its JSON lines
    go straight to our stdout; anything else it writes, to stderr."""
    progress(f"timing {module}")
    command = [sys.executable, "-m", f"bench.{module}"]
    result = subprocess.run(
        command, env=env, cwd=database.BASE_DIR, stdout=subprocess.PIPE, text=True
    )
    for line in result.stdout.splitlines():
        print(line, file=sys.stdout if line.startswith('{"metric"') else sys.stderr, flush=True)
    if result.returncode != 0:
        raise BenchFailure(f"timing {module} failed (see above)")


def main() -> int:
    started = time.monotonic()
    # Other work on the machine shows in every number; say how busy it was.
    progress(f"load average before starting: {os.getloadavg()[0]:.2f}")
    server_url = database.server_url()
    progress(f"creating the database {database.BENCH_DATABASE}")
    env = bench_environment(database.create_bench_database(server_url))
    try:
        run_step("migrating", ["manage.py", "migrate_tenants", "-v", "0"], env)
        run_step("loading the demo organisations", ["manage.py", "seed_demo"], env)
        time_in_django("provisioning", env)
        time_in_django("usage", env)
        time_in_django("pdf", env)
        time_in_django("webhooks", env)
        throughput.report(env)
        leads_bench.report(env)
        time_in_django("privacy", env)
        load.report(env, run_step)  # adds 1,000 organisations to the bench database
        migrations_bench.measure(env, seeded=True)  # deploys, on load.py's organisations
    except BenchFailure as failure:
        progress(f"FAILED: {failure}")
        return 1
    finally:
        database.drop_bench_database(server_url)
        progress(f"done in {time.monotonic() - started:.0f} s; {database.BENCH_DATABASE} dropped")
    return 0


if __name__ == "__main__":
    sys.exit(main())

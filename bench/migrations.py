"""The migration lines of the bench: deploys at 1,000 organisations.

    python -m bench.migrations                # on its own, in a database of its own
    bench.migrations.measure(env, seeded=True)  # from bench, after load.py

On its own, it creates a database (`nexuscore_bench_migrations`) where `seed_scale` creates
1,000 organisations; from `make bench` it reuses the bench database once bench.load has
added its 1,000 organisations (the last step: the probe migration stays until the database is
dropped). Then, each as a deploy runs it (a `manage.py migrate_tenants` process, Django's
start-up included):

- `migrate_noop_1000_s`: nothing to migrate (goal 10 s);
- `migrate_one_1000_s`: one new tenant migration, applied to every organisation and pooled
  schema (goal 60 s). The migration belongs to `scaleprobe`, an app written to a temporary
  folder and added to TENANT_APPS by a settings module there, so the project's own migrations
  are never touched; the folder goes and the database is dropped at the end.
- `migrate_schemas_noop_per_schema_ms`: django-tenants' `migrate_schemas` on 20 of those
  schemas, for comparison.
"""

import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from bench import database
from bench.report import BenchFailure, metric, progress

BENCH_DATABASE = "nexuscore_bench_migrations"
TENANTS = 1000
NOOP_GOAL_S = 10
ONE_MIGRATION_GOAL_S = 60
COMPARE_SCHEMAS = 20

PROBE_APP = "scaleprobe"

# A new feature's migration: a table with a foreign key to leads, and its index.
ONE_MIGRATION = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [("leads", "0001_initial")]
    operations = [
        migrations.CreateModel(
            name="Probe",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("label", models.CharField(max_length=50)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "lead",
                    models.ForeignKey(null=True, on_delete=models.CASCADE, to="leads.lead"),
                ),
            ],
            options={"indexes": [models.Index(fields=["label", "created_at"], name="probe_label")]},
        )
    ]
"""


def write_probe_app(folder: Path, migrations: dict[str, str], app: str = PROBE_APP) -> dict:
    """Write the tenant app `app` with `migrations` ({"0001_initial": source}) into `folder`,
    and a settings module `<app>_settings` adding it to the project's; return the environment
    that selects them. Writing again replaces the app's migrations."""
    package = folder / app
    (package / "migrations").mkdir(parents=True, exist_ok=True)
    for old in (package / "migrations").glob("0*.py"):
        old.unlink()
    (package / "__init__.py").write_text("")
    (package / "migrations" / "__init__.py").write_text("")
    (package / "models.py").write_text("")
    for name, source in migrations.items():
        (package / "migrations" / f"{name}.py").write_text(source)
    (folder / f"{app}_settings.py").write_text(
        textwrap.dedent(f"""\
            from nexuscore.settings import *  # noqa: F403

            TENANT_APPS = [*TENANT_APPS, "{app}"]  # noqa: F405
            INSTALLED_APPS = [*INSTALLED_APPS, "{app}"]  # noqa: F405
            """)
    )
    return {"PYTHONPATH": str(folder), "DJANGO_SETTINGS_MODULE": f"{app}_settings"}


def manage(arguments: list[str], env: dict, *, check=True) -> tuple[float, str]:
    """Run `manage.py <arguments>`; return the wall-clock seconds and its stdout."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        env=env,
        cwd=database.BASE_DIR,
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - started
    if check and result.returncode != 0:
        raise BenchFailure(
            f"manage.py {' '.join(arguments)} failed:\n{result.stdout}{result.stderr}"
        )
    return elapsed, result.stdout


def compare_migrate_schemas(env: dict) -> None:
    """django-tenants' no-op migrate on COMPARE_SCHEMAS schemas, in one process."""
    code = textwrap.dedent(f"""\
        import time
        from django.core.management import call_command
        from tenants.models import Tenant
        tenants = Tenant.objects.exclude(schema_name="public").order_by("schema_name")
        names = list(tenants.values_list("schema_name", flat=True)[:{COMPARE_SCHEMAS}])
        started = time.perf_counter()
        for name in names:
            call_command("migrate_schemas", schema_name=name, interactive=False, verbosity=0)
        print((time.perf_counter() - started) / len(names) * 1000)
        """)
    _, output = manage(["shell", "-c", code], env)
    per_schema = float(output.strip().splitlines()[-1])
    metric(
        "migrate_schemas_noop_per_schema_ms",
        round(per_schema, 1),
        "ms",
        schemas=COMPARE_SCHEMAS,
        at_1000_s=round(per_schema * TENANTS / 1000, 1),
        compare_to="migrate_noop_1000_s",
        note="django-tenants' migrate_schemas with nothing to do, one schema at a time",
    )


def summary(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("Tenant schemas:")]
    return lines[-1] if lines else output.strip()[-200:]


def schema_count(output: str) -> int:
    """Current + migrated + failed, from migrate_tenants' summary line."""
    counts = re.findall(r"(\d+) (?:current|migrated|failed)", summary(output))
    return sum(int(count) for count in counts)


def measure(env: dict, *, seeded: bool = False) -> None:
    """Every migration line, on the database `env` names: empty, or `seeded` already with the
    organisations (as bench.load leaves the bench database)."""
    if not seeded:
        progress(f"creating {TENANTS:,} organisations with seed_scale")
        manage(["migrate_tenants", "-v", "0"], env)
        seconds, _ = manage(["seed_scale", "--tenants", str(TENANTS), "--big-leads", "1000"], env)
        metric("seed_scale_1000_s", round(seconds, 1), "s", tenants=TENANTS, note="seed_scale")

    progress("migrate_tenants with nothing to migrate")
    seconds, output = manage(["migrate_tenants"], env)
    metric(
        "migrate_noop_1000_s",
        round(seconds, 1),
        "s",
        at_most=NOOP_GOAL_S,
        schemas=schema_count(output),
        result=summary(output),
        note="manage.py migrate_tenants, process start to exit, public included",
    )
    compare_migrate_schemas(env)

    with tempfile.TemporaryDirectory(prefix="nexuscore-bench-") as folder:
        probe_env = {**env, **write_probe_app(Path(folder), {"0001_initial": ONE_MIGRATION})}
        progress("migrate_tenants with one new tenant migration")
        seconds, output = manage(["migrate_tenants"], probe_env)
        if " 0 failed" not in summary(output):
            raise BenchFailure(f"schemas failed to migrate:\n{output}")
        metric(
            "migrate_one_1000_s",
            round(seconds, 1),
            "s",
            at_most=ONE_MIGRATION_GOAL_S,
            schemas=schema_count(output),
            result=summary(output),
            workers=os.cpu_count(),
            note="one new migration (a table with a foreign key to leads and an index) "
            "applied to every organisation and pooled schema",
        )


def report() -> None:
    """The migration lines, in a database of their own beside the developer's, dropped at the
    end whatever happens. Raises BenchFailure when a step fails."""
    from bench.__main__ import bench_environment

    with database.scratch_database(BENCH_DATABASE) as (url, _):
        measure(bench_environment(url))


def main() -> int:
    try:
        report()
    except BenchFailure as failure:
        progress(f"FAILED: {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""manage.py migrate_tenants: a deploy's migrations over every organisation and pooled schema.

Five organisations and a pool of two, in a database of their own (tests/fixtures_scale.py). New
migrations come from throw-away tenant apps written to a temporary folder and added to
TENANT_APPS by a settings module there; each test uses its own app, so they do not depend on
each other's order.
"""

import textwrap

import pytest

from bench.migrations import write_probe_app
from tests.fixtures_scale import ScratchDatabase, output_of

TENANTS = [f"deploy{n}" for n in range(1, 6)]

CREATE_TENANTS = """
from nexuscore.accounts.models import User
from nexuscore.onboarding.provisioning import provision_tenant
from tenants.schemas import fill_schema_pool

owner = User.objects.create_user("owner@deploy.test", None, "Deploy Owner")
fill_schema_pool(5)
for n in range(1, 6):
    provision_tenant(name=f"Deploy {n}", slug=f"deploy{n}", owner=owner)
fill_schema_pool()  # NEXUSCORE_SCHEMA_POOL_SIZE: 2
"""

PRINT_FINGERPRINT = "from tenants.schemas import migrations_fingerprint as f; print(f())"


CREATE_MODEL = textwrap.dedent("""\
        from django.db import migrations, models


        class Migration(migrations.Migration):
            initial = True
            dependencies = []
            operations = [
                migrations.CreateModel(
                    name="Probe",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("name", models.CharField(max_length=50)),
                    ],
                )
            ]
        """)


def add_fields(app_label: str) -> str:
    """Two operations: `flag` (always possible), then `note` (conflicts where it exists)."""
    return textwrap.dedent(f"""\
        from django.db import migrations, models


        class Migration(migrations.Migration):
            dependencies = [("{app_label}", "0001_initial")]
            operations = [
                migrations.AddField("probe", "flag", models.BooleanField(default=False)),
                migrations.AddField("probe", "note", models.CharField(max_length=20, default="")),
            ]
        """)


def insert_schema_name(app_label: str) -> str:
    """A data migration: one row naming the schema it ran in."""
    return textwrap.dedent(f"""\
        from django.db import migrations


        def forwards(apps, schema_editor):
            Probe = apps.get_model("{app_label}", "Probe")
            Probe.objects.create(name=schema_editor.connection.schema_name)


        class Migration(migrations.Migration):
            dependencies = [("{app_label}", "0001_initial")]
            operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
        """)


@pytest.fixture(scope="module")
def deployment():
    scratch = ScratchDatabase("migrate_tenants").create()
    try:
        result = scratch.manage("migrate_tenants")
        assert result.returncode == 0, output_of(result)
        result = scratch.manage("shell", "-c", CREATE_TENANTS)
        assert result.returncode == 0, output_of(result)
        yield scratch
    finally:
        scratch.drop()


def pooled(scratch) -> dict[str, str]:
    return dict(scratch.query("SELECT schema_name, fingerprint FROM tenants_pooledschema"))


def tables(scratch, table: str) -> set[str]:
    rows = scratch.query(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = %s", [table]
    )
    return {schema for (schema,) in rows}


def columns(scratch, schema: str, table: str) -> set[str]:
    rows = scratch.query(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s",
        [schema, table],
    )
    return {column for (column,) in rows}


def recorded(scratch, schema: str, app: str) -> set[str]:
    statement = f'SELECT name FROM "{schema}".django_migrations WHERE app = %s'
    return {name for (name,) in scratch.query(statement, [app])}


def test_current_schemas_are_skipped(deployment):
    pool_before = pooled(deployment)
    migrations_before = deployment.query("SELECT count(*) FROM deploy1.django_migrations")

    result = deployment.manage("migrate_tenants", "-v", "2")

    assert result.returncode == 0, output_of(result)
    assert "Tenant schemas: 7 current, 0 migrated, 0 failed" in result.stdout
    assert "schema pool: 0 added" in result.stdout
    assert "ok schema" not in result.stdout
    assert pooled(deployment) == pool_before
    assert deployment.query("SELECT count(*) FROM deploy1.django_migrations") == migrations_before


def test_a_new_migration_reaches_every_schema_and_the_pool(deployment, tmp_path):
    env = write_probe_app(tmp_path, {"0001_initial": CREATE_MODEL}, "probe_new")
    pool_before = pooled(deployment)

    result = deployment.manage("migrate_tenants", "-v", "2", env=env)

    assert result.returncode == 0, output_of(result)
    assert "Tenant schemas: 0 current, 7 migrated, 0 failed" in result.stdout
    for schema in TENANTS:
        assert f"ok schema {schema} (" in result.stdout
    assert "migrating schemas: 7/7 (100%), 0 failed" in result.stderr
    assert tables(deployment, "probe_new_probe") == {*TENANTS, *pool_before}
    for schema in [*TENANTS, *pool_before]:
        assert recorded(deployment, schema, "probe_new") == {"0001_initial"}
    # The pool is migrated in place, not rebuilt, and tagged with the new code's fingerprint.
    fingerprint = deployment.manage("shell", "-c", PRINT_FINGERPRINT, env=env).stdout.split()[-1]
    assert fingerprint not in pool_before.values()
    assert pooled(deployment) == dict.fromkeys(pool_before, fingerprint)
    assert "schema pool: 0 added" in result.stdout

    again = deployment.manage("migrate_tenants", env=env)
    assert "Tenant schemas: 7 current, 0 migrated, 0 failed" in again.stdout, output_of(again)


def test_a_failing_schema_is_reported_rolled_back_and_retried(deployment, tmp_path):
    app = "probe_fail"
    env = write_probe_app(tmp_path, {"0001_initial": CREATE_MODEL}, app)
    assert deployment.manage("migrate_tenants", env=env).returncode == 0
    # deploy3 already has a `note` column: the next migration's second operation fails there.
    deployment.execute("ALTER TABLE deploy3.probe_fail_probe ADD COLUMN note text")
    env = write_probe_app(
        tmp_path, {"0001_initial": CREATE_MODEL, "0002_fields": add_fields(app)}, app
    )

    result = deployment.manage("migrate_tenants", env=env)

    assert result.returncode == 1, output_of(result)
    assert "FAILED schema deploy3: ProgrammingError:" in result.stdout
    assert 'column "note" of relation "probe_fail_probe" already exists' in result.stdout
    assert "6 migrated, 1 failed" in result.stdout
    assert "1 schema(s) failed to migrate" in result.stderr
    for schema in TENANTS:
        if schema != "deploy3":
            assert {"flag", "note"} <= columns(deployment, schema, "probe_fail_probe")
            assert recorded(deployment, schema, app) == {"0001_initial", "0002_fields"}
    # In deploy3 the whole migration rolled back: `flag`, added before the failure, is gone too.
    assert columns(deployment, "deploy3", "probe_fail_probe") == {"id", "name", "note"}
    assert recorded(deployment, "deploy3", app) == {"0001_initial"}

    deployment.execute("ALTER TABLE deploy3.probe_fail_probe DROP COLUMN note")
    retry = deployment.manage("migrate_tenants", "-v", "2", env=env)

    assert retry.returncode == 0, output_of(retry)
    assert "Tenant schemas: 6 current, 1 migrated, 0 failed" in retry.stdout
    assert "ok schema deploy3 (" in retry.stdout
    assert {"flag", "note"} <= columns(deployment, "deploy3", "probe_fail_probe")
    assert recorded(deployment, "deploy3", app) == {"0001_initial", "0002_fields"}


def test_python_in_a_migration_runs_in_each_schema(deployment, tmp_path):
    app = "probe_data"
    migrations = {"0001_initial": CREATE_MODEL, "0002_rows": insert_schema_name(app)}
    env = write_probe_app(tmp_path, migrations, app)

    result = deployment.manage("migrate_tenants", env=env)

    assert result.returncode == 0, output_of(result)
    for schema in [*TENANTS, *pooled(deployment)]:
        assert deployment.query(f'SELECT name FROM "{schema}".probe_data_probe') == [(schema,)]


def test_a_schema_made_by_replay_equals_one_made_by_migrate_schemas(deployment):
    """create_migrated_schema (the pool's replay) and django-tenants' migrate give one schema."""
    code = textwrap.dedent("""\
        from django.core.management import call_command
        from django.db import connection
        from tenants.schemas import create_migrated_schema

        create_migrated_schema("by_replay")
        with connection.cursor() as cursor:
            cursor.execute("CREATE SCHEMA by_migrate")
        call_command("migrate_schemas", schema_name="by_migrate", interactive=False, verbosity=0)
        """)
    result = deployment.manage("shell", "-c", code)
    assert result.returncode == 0, output_of(result)

    assert catalog(deployment, "by_replay") == catalog(deployment, "by_migrate")


CATALOG = {
    "columns": "SELECT table_name, column_name, data_type, is_nullable, "
    "coalesce(column_default, ''), coalesce(generation_expression, '') "
    "FROM information_schema.columns WHERE table_schema = %s",
    "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(c.oid) "
    "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = %s",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %s",
    "triggers": "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
    "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %s AND NOT t.tgisinternal",
    "functions": "SELECT p.proname, p.prosrc FROM pg_proc p "
    "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %s",
    "migrations": 'SELECT app, name FROM "{schema}".django_migrations',
    "content types": 'SELECT app_label, model FROM "{schema}".django_content_type',
}


def catalog(scratch, schema: str) -> dict[str, list]:
    """The tables, columns, constraints, indexes, triggers, functions and records of a schema,
    with its name taken out."""
    result = {}
    for part, statement in CATALOG.items():
        params = [schema] if "%s" in statement else None
        rows = scratch.query(statement.format(schema=schema), params)
        result[part] = sorted(
            tuple(str(value).replace(f"{schema}.", "<schema>.") for value in row) for row in rows
        )
        assert rows, f"no {part} in {schema}"
    return result

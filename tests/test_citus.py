"""What Citus schema-based sharding would require of our schema, checked where it can be here.

With `citus.enable_schema_based_sharding`, each organisation's schema becomes a distributed
schema: its tables live together on one node. Then (docs/scaling.md):

- a table in a tenant schema may reference tables in its own schema, and public tables only if
  those are reference tables (copied to every node);
- a reference table may reference only other reference tables, never a tenant schema;
- nothing in public may reference a tenant schema, and no tenant schema another.

These tests read the models (every foreign key that has a database constraint) and, for the demo
organisations, PostgreSQL's own catalogue.
"""

from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection

SCALING_DOC = Path(__file__).resolve().parent.parent / "docs" / "scaling.md"


def placement(model) -> set[str]:
    """Where the model's table exists: "public", "tenant" or both."""
    name = model._meta.app_config.name
    places = set()
    if name in settings.SHARED_APPS:
        places.add("public")
    if name in settings.TENANT_APPS:
        places.add("tenant")
    return places


def constrained_relations():
    """(model, target model) for every foreign key, one-to-one and many-to-many table column
    that the database enforces."""
    for model in apps.get_models(include_auto_created=True):
        if not model._meta.managed or model._meta.proxy:
            continue
        for field in model._meta.local_fields:
            if field.is_relation and field.db_constraint:
                yield model, field.remote_field.model


def reference_tables() -> set[str]:
    """Public tables that tenant tables reference, and what those reference in turn: the tables
    that would become Citus reference tables."""
    wanted = {
        target
        for model, target in constrained_relations()
        if "tenant" in placement(model) and "tenant" not in placement(target)
    }
    while True:
        more = {
            target
            for model, target in constrained_relations()
            if model in wanted and target not in wanted
        }
        if not more:
            return {model._meta.db_table for model in wanted}
        wanted |= more


def test_nothing_in_public_references_a_tenant_only_table():
    offenders = [
        f"{model._meta.label} -> {target._meta.label}"
        for model, target in constrained_relations()
        if "public" in placement(model) and "public" not in placement(target)
    ]
    assert offenders == []


def test_reference_tables_never_reference_tenant_tables():
    for model, target in constrained_relations():
        if model._meta.db_table in reference_tables():
            assert "public" in placement(target), f"{model._meta.label} -> {target._meta.label}"


def test_docs_list_every_table_that_would_become_a_reference_table():
    """docs/scaling.md names each table Citus would need as a reference table."""
    text = SCALING_DOC.read_text()
    missing = sorted(table for table in reference_tables() if f"`{table}`" not in text)
    assert missing == [], f"add these to docs/scaling.md: {missing}"
    assert "accounts_user" in reference_tables()  # leads are assigned to people


def foreign_keys_in_database() -> list[tuple[str, str, str, str]]:
    """(schema, table, referenced schema, referenced table) for every foreign key."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ns.nspname, cl.relname, rns.nspname, rcl.relname FROM pg_constraint c "
            "JOIN pg_class cl ON cl.oid = c.conrelid "
            "JOIN pg_namespace ns ON ns.oid = cl.relnamespace "
            "JOIN pg_class rcl ON rcl.oid = c.confrelid "
            "JOIN pg_namespace rns ON rns.oid = rcl.relnamespace WHERE c.contype = 'f'"
        )
        return cursor.fetchall()


def test_the_database_has_no_key_from_public_or_across_tenants(acme, globex):
    tenants = {"acme", "globex"}
    keys = foreign_keys_in_database()
    assert {schema for schema, *_ in keys} >= {"public", *tenants}
    for schema, table, target_schema, target_table in keys:
        where = f"{schema}.{table} -> {target_schema}.{target_table}"
        if schema == "public":
            assert target_schema == "public", where
        elif schema in tenants:
            assert target_schema in {schema, "public"}, where


def test_tenant_keys_into_public_reach_only_the_documented_reference_tables(acme):
    into_public = {
        target_table
        for schema, _, target_schema, target_table in foreign_keys_in_database()
        if schema == "acme" and target_schema == "public"
    }
    assert into_public
    assert into_public <= reference_tables()

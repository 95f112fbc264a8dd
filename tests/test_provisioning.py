"""provision_tenant() makes a working organisation, from the pool or by migrating."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from nexuscore.audit.models import Event
from nexuscore.onboarding.provisioning import provision_tenant
from tenants.models import Domain, Membership, PooledSchema, Tenant
from tenants.schemas import fill_schema_pool, migrations_fingerprint
from tests.conftest import client_for


def _tables(schema):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema]
        )
        return {row[0] for row in cursor.fetchall()}


def test_provisioning_makes_a_working_organisation(owner):
    pooled_before = PooledSchema.objects.count()
    tenant = provision_tenant(name="Initech", slug="initech", owner=owner, uen="197401143C")

    assert PooledSchema.objects.count() == pooled_before - 1  # a pooled schema was used
    assert {"audit_event", "nexuscore_session", "django_migrations"} <= _tables("initech")
    assert Domain.objects.get(tenant=tenant).domain == "initech.localhost"
    assert Membership.objects.get(tenant=tenant, user=owner).role == "owner"
    assert Event.objects.filter(event_type="tenant.created", tenant=tenant).exists()
    with schema_context("initech"):
        assert Event.objects.filter(event_type="organisation.created").count() == 1
    response = client_for(tenant, owner).get("/")
    assert response.status_code == 200
    assert b"Initech" in response.content


def test_provisioning_without_a_pooled_schema_migrates_one(owner):
    PooledSchema.objects.all().delete()
    tenant = provision_tenant(name="Hooli", slug="hooli", owner=owner, uen="00192200M")
    assert "audit_event" in _tables("hooli")
    assert client_for(tenant, owner).get("/").status_code == 200


def test_stale_pooled_schemas_are_dropped_not_used(owner):
    stale = PooledSchema.objects.first()
    PooledSchema.objects.filter(pk=stale.pk).update(fingerprint="0" * 64)
    fill_schema_pool(1)
    assert not schema_exists(stale.schema_name)
    assert not PooledSchema.objects.exclude(fingerprint=migrations_fingerprint()).exists()


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("acme", "already taken"),
        ("ACME", "already taken"),
        ("admin", "reserved"),
        ("www", "reserved"),
        ("api", "reserved"),
        ("a", "3 to 32"),
        ("-acme", "3 to 32"),
        ("acme-", "3 to 32"),
        ("ac me", "3 to 32"),
        ("acme_co", "3 to 32"),
        ("xn--acme", "hyphens in a row"),
        ("pool_abc", "3 to 32"),
    ],
)
def test_bad_or_taken_slugs_are_refused(owner, slug, message):
    with pytest.raises(ValidationError) as error:
        provision_tenant(name="Copycat", slug=slug, owner=owner, uen="197401143C")
    assert message in str(error.value.message_dict["slug"])
    assert not Tenant.objects.filter(name="Copycat").exists()


def test_invalid_uen_and_missing_gst_number_are_refused(owner):
    with pytest.raises(ValidationError) as error:
        provision_tenant(
            name="Bad Co", slug="badco", owner=owner, uen="12345678A", is_gst_registered=True
        )
    assert "uen" in error.value.message_dict
    assert "gst_number" in error.value.message_dict
    assert not schema_exists("badco")


def test_a_taken_uen_is_refused(owner, acme):
    with pytest.raises(ValidationError) as error:
        provision_tenant(name="Acme Again", slug="acme-again", owner=owner, uen=acme.uen)
    assert "uen" in error.value.message_dict


def test_database_requires_a_gst_number_when_registered(acme):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Tenant.objects.filter(pk=acme.pk).update(gst_number="")

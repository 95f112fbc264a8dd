"""Audit events are append-only, in the public schema and in every tenant schema."""

import pytest
from django.db import DatabaseError, transaction
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event, record_event


@pytest.mark.parametrize("schema", ["public", "acme"])
def test_events_cannot_be_changed_or_deleted(db, acme, schema):
    event = record_event("test.happened", tenant=acme, data={"n": 1}, schema_name=schema)
    with schema_context(schema):
        with pytest.raises(DatabaseError), transaction.atomic():
            Event.objects.filter(pk=event.pk).update(data={"n": 2})
        with pytest.raises(DatabaseError), transaction.atomic():
            Event.objects.filter(pk=event.pk).delete()
        with pytest.raises(DatabaseError), transaction.atomic():
            event.data = {"n": 3}
            event.save()
        assert Event.objects.get(pk=event.pk).data == {"n": 1}


def test_events_land_in_the_schema_that_is_active(acme, owner):
    with schema_context("acme"):
        record_event("lead.viewed", actor=owner)
        assert Event.objects.filter(event_type="lead.viewed").exists()
    assert not Event.objects.filter(event_type="lead.viewed").exists()  # not in public


def test_deleting_a_person_keeps_their_events(owner, acme):
    from nexuscore.accounts.models import User
    from tenants.models import Membership

    person = User.objects.create_user("temp@acme.test", "x-long-password-1", "Temp")
    Membership.objects.create(tenant=acme, user=person, role="member")
    event = record_event("something", actor=person)
    person.delete()
    assert Event.objects.filter(pk=event.pk).exists()

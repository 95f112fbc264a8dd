"""Tasks run inside the organisation's schema they were given; demo data stays out of production."""

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event
from tenants.tasks import enqueue_in_schema


def test_a_task_runs_in_the_schema_it_was_given(acme, globex):
    enqueue_in_schema(
        "acme", "nexuscore.audit.models.record_event", "export.finished", data={"rows": 3}
    )
    with schema_context("acme"):
        assert Event.objects.filter(event_type="export.finished", data={"rows": 3}).exists()
    with schema_context("globex"):
        assert not Event.objects.filter(event_type="export.finished").exists()
    assert not Event.objects.filter(event_type="export.finished").exists()


def test_seed_demo_refuses_production(db, settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="never loaded in production"):
        call_command("seed_demo")


def test_seed_demo_can_run_again(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    from tenants.models import Membership, Tenant

    assert Tenant.objects.filter(schema_name__in=["acme", "globex"]).count() == 2
    assert Membership.objects.filter(tenant__schema_name="acme").count() == 4

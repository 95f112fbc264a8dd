"""Shared fixtures: the demo organisations (acme, globex) and people named by their role.

The test database is built once per run with `seed_demo`; each test then runs inside a
transaction that is rolled back, schemas included (PostgreSQL DDL is transactional).
"""

import os

import pytest
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from nexuscore.accounts.models import User
from nexuscore.leads.models import Lead
from nexuscore.marketing.cache import forget_pages
from tenants.middleware import forget_hosts
from tenants.models import Tenant
from tenants.schemas import fill_schema_pool
from tests.browser import browser, site  # noqa: F401  (fixtures for the browser tests)
from tests.fixtures_billing import billing_media, fake_stripe, webhook_secret  # noqa: F401
from tests.fixtures_faults import fault_world  # noqa: F401
from tests.fixtures_mfa import acme_requires_two_factor, staff_with_mfa  # noqa: F401
from tests.fixtures_privacy import ann_and_joann, privacy_media  # noqa: F401

PASSWORD = "nexuscore-demo"


@pytest.fixture(scope="session", autouse=True)
def _tasks_run_inline():
    """django-q2 runs enqueued tasks inline, as its own `sync` option does."""
    from django_q.conf import Conf

    Conf.SYNC = True


@pytest.fixture(autouse=True)
def _start_in_the_public_schema():
    """A request leaves the connection in its host's schema, and the host cache outlives the
    rolled-back transaction: each test starts in public with nothing cached."""
    yield
    connection.set_schema_to_public()
    forget_hosts()
    caches["local"].clear()  # the process's own cache outlives the rolled-back transaction too
    forget_pages()  # and so do the marketing pages each process keeps


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("seed_demo", no_leads=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
        fill_schema_pool(2)


def host(tenant) -> str:
    return "localhost" if tenant is None else f"{tenant.schema_name}.localhost"


def client_for(tenant=None, user=None) -> Client:
    """A test client on the tenant's host (the public host for None), signed in as `user`.

    The session is stored where that host keeps sessions: in the tenant's own schema.
    """
    client = Client(HTTP_HOST=host(tenant))
    if user is not None:
        with schema_context(tenant.schema_name if tenant else "public"):
            client.force_login(user)
    return client


@pytest.fixture
def acme(db):
    return Tenant.objects.get(schema_name="acme")


@pytest.fixture
def globex(db):
    return Tenant.objects.get(schema_name="globex")


def _person(email):
    return User.objects.get(email=email)


@pytest.fixture
def owner(db):
    return _person("owner@acme.test")


@pytest.fixture
def admin(db):
    return _person("admin@acme.test")


@pytest.fixture
def member(db):
    return _person("member@acme.test")


@pytest.fixture
def viewer(db):
    return _person("viewer@acme.test")


@pytest.fixture
def outsider(db):
    """Owner of globex, with no membership in acme."""
    return _person("owner@globex.test")


@pytest.fixture
def staff(db):
    return _person("staff@nexuscore.test")


# --- Helpers the test files share ------------------------------------------------------------


def make_leads(tenant, count=1, **fields):
    """`count` leads in the tenant's schema, straight into the table (no quota, no events)."""
    with schema_context(tenant.schema_name):
        leads = [
            Lead(
                **{
                    "name": f"Person {index:04d}",
                    "email": f"person{index}@example.sg",
                    **fields,
                }
            )
            for index in range(count)
        ]
        return Lead.objects.bulk_create(leads)


def make_lead(tenant, **fields):
    return make_leads(tenant, 1, **fields)[0]


def in_schema(tenant, func):
    with schema_context(tenant.schema_name):
        return func()


def set_plan_limits(tenant, **limits):
    """Give the tenant's plan these limits (plans are shared, so copy one for the test)."""
    subscription = tenant.subscriptions.live().get()
    plan = subscription.plan
    plan.pk = None
    plan.sku = f"test-{tenant.schema_name}-{len(limits)}"
    plan.limits = {**plan.limits, **limits}
    plan.save()
    subscription.plan = plan
    subscription.save()
    return plan


def upload(client, content: bytes, name="leads.csv", duplicates="skip"):
    return client.post(
        "/leads/import/",
        {"file": SimpleUploadedFile(name, content, "text/csv"), "duplicates": duplicates},
    )


# A visitor's valid submission of an organisation's website form (/f/contact/).
CAPTURE_FORM = {
    "name": "Tan Wei Ling",
    "email": "WeiLing@LionCity.sg",
    "phone": "9123 4567",
    "company": "Lion City Logistics",
    "message": "Please call me about 20 seats.",
    "consent": "on",
    "submission_key": "k" * 32,
}

"""manage.py seed_scale: organisations with people, leads, subscriptions and invoices.

Run at a small scale (5 organisations, 300 leads in the big one) in a database of its own
(tests/fixtures_scale.py), as the bench runs it.
"""

import pytest

from tests.fixtures_scale import ScratchDatabase, output_of

SLUGS = [f"scale{n:04d}" for n in range(1, 6)]


@pytest.fixture(scope="module")
def seeded():
    scratch = ScratchDatabase("seed_scale").create()
    try:
        result = scratch.manage("migrate_tenants", "-v", "0")
        assert result.returncode == 0, output_of(result)
        result = scratch.manage("seed_scale", "--tenants", "5", "--big-leads", "300")
        assert result.returncode == 0, output_of(result)
        scratch.first_run = result.stdout
        yield scratch
    finally:
        scratch.drop()


def test_it_creates_the_organisations_it_names(seeded):
    rows = seeded.query(
        "SELECT t.schema_name, d.domain FROM tenants_tenant t "
        "JOIN tenants_domain d ON d.tenant_id = t.id AND d.is_primary "
        "WHERE t.schema_name <> 'public' ORDER BY 1"
    )
    assert rows == [(slug, f"{slug}.localhost") for slug in SLUGS]
    schemas = seeded.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'scale%%'")
    assert sorted(schema for (schema,) in schemas) == SLUGS
    assert "5 organisations" in seeded.first_run


def test_each_has_an_owner_and_members_who_can_sign_in(seeded):
    owners = seeded.query(
        "SELECT t.schema_name, u.email FROM tenants_membership m "
        "JOIN tenants_tenant t ON t.id = m.tenant_id JOIN accounts_user u ON u.id = m.user_id "
        "WHERE m.role = 'owner' ORDER BY 1"
    )
    assert owners == [(slug, f"owner@{slug}.test") for slug in SLUGS]
    roles = {role for (role,) in seeded.query("SELECT DISTINCT role FROM tenants_membership")}
    assert roles <= {"owner", "admin", "member", "viewer"}
    unverified = seeded.query(
        "SELECT count(*) FROM accounts_user u LEFT JOIN account_emailaddress e "
        "ON e.user_id = u.id AND e.verified AND e.primary WHERE e.id IS NULL"
    )
    assert unverified == [(0,)]
    check = (
        "from nexuscore.accounts.models import User; "
        "print(User.objects.get(email='owner@scale0003.test').check_password('nexuscore-demo'))"
    )
    assert seeded.manage("shell", "-c", check).stdout.split()[-1] == "True"


def test_leads_one_big_organisation_and_realistic_others(seeded):
    assert seeded.query("SELECT count(*) FROM scale0001.leads_lead") == [(300,)]
    for slug in SLUGS[1:]:
        [(count,)] = seeded.query(f"SELECT count(*) FROM {slug}.leads_lead")
        assert 10 <= count <= 200
    # Assigned among the organisation's own people.
    outsiders = seeded.query(
        "SELECT count(*) FROM scale0002.leads_lead l WHERE l.assigned_to_id IS NOT NULL "
        "AND l.assigned_to_id NOT IN (SELECT m.user_id FROM tenants_membership m "
        "JOIN tenants_tenant t ON t.id = m.tenant_id WHERE t.schema_name = 'scale0002')"
    )
    assert outsiders == [(0,)]


def test_paying_organisations_have_numbered_invoices(seeded):
    invoices = seeded.query(
        "SELECT number, status, subtotal_cents, total_cents, amount_paid_cents, tax_code "
        "FROM billing_invoice ORDER BY number"
    )
    assert invoices, "no organisation pays?"
    # Gapless from INV-000001, and the sequence knows the last one.
    assert [number for number, *_ in invoices] == [
        f"INV-{n:06d}" for n in range(1, len(invoices) + 1)
    ]
    assert seeded.query("SELECT last_value FROM billing_invoicesequence WHERE prefix = 'INV'") == [
        (len(invoices),)
    ]
    for _, status, subtotal, total, paid, tax_code in invoices:
        assert tax_code == "SR"
        assert total == subtotal + round(subtotal * 0.09)
        assert paid == (total if status == "paid" else 0)
    live = seeded.query(
        "SELECT s.status, t.trial_ends_at IS NULL, count(i.id) FROM billing_subscription s "
        "JOIN tenants_tenant t ON t.id = s.tenant_id "
        "LEFT JOIN billing_invoice i ON i.subscription_id = s.id GROUP BY s.id, t.id"
    )
    for status, trial_over, invoice_count in live:
        if status == "trialing":
            assert not trial_over and invoice_count == 0
        else:
            assert status in {"active", "past_due"} and trial_over and invoice_count >= 1


def test_privacy_requests_with_their_deadlines(seeded):
    requests = []
    for slug in SLUGS:
        requests += seeded.query(
            f"SELECT r.status, r.verified_at, r.due_at, r.email IN "
            f"(SELECT email FROM {slug}.leads_lead) FROM {slug}.privacy_dsarrequest r"
        )
    assert requests
    for status, verified_at, due_at, from_a_lead in requests:
        assert from_a_lead
        if status == "unverified":
            assert verified_at is None and due_at is None
        else:
            assert (due_at - verified_at).days == 30


def test_running_it_again_adds_nothing(seeded):
    counts = "SELECT (SELECT count(*) FROM tenants_tenant), (SELECT count(*) FROM accounts_user)"
    before = seeded.query(counts)

    result = seeded.manage("seed_scale", "--tenants", "5", "--big-leads", "300")

    assert result.returncode == 0, output_of(result)
    assert "5 of 5 organisations exist; creating 0" in result.stdout
    assert seeded.query(counts) == before


def test_one_pool_refill_stays_queued(seeded):
    """Each provisioning queues a refill of the pool; seed_scale filled it, so one is enough."""
    assert seeded.query("SELECT count(*) FROM django_q_ormq") == [(1,)]
    [(ready,)] = seeded.query("SELECT count(*) FROM tenants_pooledschema")
    assert ready >= 2

"""Usage against plan limits: HARD, SOFT and NONE, periods, gauges and concurrency."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from nexuscore.billing.models import Plan, Subscription
from nexuscore.quotas.models import (
    METRICS,
    QuotaExceeded,
    UnknownMetric,
    UsageEvent,
    UsageRecord,
    check_quota,
    current_period,
    record_usage,
    set_gauge,
    usage_summary,
)
from tenants.models import Tenant
from tests.conftest import set_plan_limits


def test_hard_limit_refuses_past_the_limit(acme):
    set_plan_limits(acme, leads_per_month=3, enforcement={"leads.created": "hard"})
    assert [record_usage(acme, "leads.created") for _ in range(3)] == [1, 2, 3]
    with pytest.raises(QuotaExceeded) as refused:
        record_usage(acme, "leads.created")
    assert (refused.value.current, refused.value.limit) == (3, 3)
    assert "allows 3 leads created" in str(refused.value)
    assert UsageEvent.objects.filter(tenant=acme, metric="leads.created").count() == 3


def test_soft_limit_accepts_and_records_the_overage(acme):
    set_plan_limits(acme, leads_per_month=2, enforcement={"leads.created": "soft"})
    assert [record_usage(acme, "leads.created") for _ in range(4)] == [1, 2, 3, 4]
    overage = UsageEvent.objects.filter(tenant=acme, metadata__has_key="overage")
    assert sorted(event.metadata["overage"] for event in overage) == [1, 2]


def test_soft_limit_email_is_sent_once(acme, django_capture_on_commit_callbacks, mailoutbox):
    set_plan_limits(acme, leads_per_month=1, enforcement={"leads.created": "soft"})
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            record_usage(acme, "leads.created")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [acme.owner.email]
    assert "gone past" in mailoutbox[0].subject


def test_none_only_tracks(acme):
    set_plan_limits(acme, leads_per_month=1, enforcement={"leads.created": "none"})
    for _ in range(3):
        record_usage(acme, "leads.created")
    check = check_quota(acme, "leads.created")
    assert (check.used, check.allowed, check.remaining) == (3, True, 0)


def test_check_quota_is_a_dry_run(acme):
    set_plan_limits(acme, leads_per_month=2, enforcement={"leads.created": "hard"})
    record_usage(acme, "leads.created")
    assert check_quota(acme, "leads.created", amount=1).allowed
    assert not check_quota(acme, "leads.created", amount=2).allowed
    assert check_quota(acme, "leads.created").used == 1


def test_unknown_metric_is_an_error(acme):
    with pytest.raises(UnknownMetric):
        record_usage(acme, "leads.creatd")
    with pytest.raises(UnknownMetric):
        check_quota(acme, "nope")


def test_no_subscription_means_no_limit(globex):
    Subscription.objects.filter(tenant=globex).update(status="canceled")
    for _ in range(5):
        record_usage(globex, "privacy.exports")
    assert check_quota(globex, "privacy.exports").limit is None


def test_periods_follow_the_subscription_then_calendar_months(acme):
    subscription = acme.subscriptions.live().get()
    inside = subscription.current_period_start + timedelta(days=1)
    assert current_period(acme, METRICS["leads.created"], inside) == (
        subscription.current_period_start,
        subscription.current_period_end,
    )
    after = subscription.current_period_end + timedelta(days=40)
    start, end = current_period(acme, METRICS["leads.created"], after)
    assert start.astimezone(timezone.get_default_timezone()).day == 1
    assert start <= after < end


def test_counters_roll_over_without_a_job(acme):
    Subscription.objects.filter(tenant=acme).update(
        current_period_start=None, current_period_end=None
    )
    november = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 23:00 in Singapore, still November
    december = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 December in Singapore
    record_usage(acme, "leads.created", now=november)
    record_usage(acme, "leads.created", now=november)
    assert record_usage(acme, "leads.created", now=december) == 1
    assert check_quota(acme, "leads.created", now=november).used == 2
    assert UsageRecord.objects.filter(tenant=acme, metric="leads.created").count() == 2


def test_gauges_go_up_and_down_and_can_be_set(acme):
    set_plan_limits(acme, members=5)
    set_gauge(acme, "members", 4)
    assert record_usage(acme, "members") == 5
    with pytest.raises(QuotaExceeded):
        record_usage(acme, "members")
    assert record_usage(acme, "members", -1) == 4


def test_the_members_gauge_follows_memberships(acme, globex):
    from tenants.models import Membership

    assert check_quota(acme, "members").used == 4
    Membership.objects.filter(tenant=acme, role="viewer").delete()
    assert check_quota(acme, "members").used == 3
    Membership.objects.create(tenant=acme, user=globex.owner, role="member")
    assert check_quota(acme, "members").used == 4


def test_usage_summary_lists_every_metric(acme):
    set_plan_limits(acme, leads_per_month=10)
    for _ in range(9):
        record_usage(acme, "leads.created")
    lines = {line.metric.code: line for line in usage_summary(acme)}
    assert set(lines) == set(METRICS)
    assert (lines["leads.created"].used, lines["leads.created"].percent) == (9, 90)
    assert lines["leads.created"].level == "near"


def test_usage_events_cannot_be_changed_or_deleted(acme):
    record_usage(acme, "leads.created", metadata={"lead": "x"})
    event = UsageEvent.objects.get(tenant=acme, metric="leads.created")
    with pytest.raises(DatabaseError), transaction.atomic():
        UsageEvent.objects.filter(pk=event.pk).update(amount=5)
    with pytest.raises(DatabaseError), transaction.atomic():
        UsageEvent.objects.filter(pk=event.pk).delete()


def test_staff_admin_is_read_only(staff_with_mfa, acme):
    from tests.conftest import client_for

    record_usage(acme, "leads.created")
    client = client_for(None, staff_with_mfa)
    for path in ("quotas/usagerecord/", "quotas/usageevent/"):
        assert client.get(f"/admin/{path}").status_code == 200
        assert client.get(f"/admin/{path}add/").status_code == 403
    record = UsageRecord.objects.get(tenant=acme, metric="leads.created")
    assert (
        b'name="_save"' not in client.get(f"/admin/quotas/usagerecord/{record.pk}/change/").content
    )


# --- Concurrency: needs committed rows and one connection per thread ---------------------------


@pytest.fixture
def committed_tenant(django_db_blocker):
    """An organisation committed to the database (threads cannot see a test's transaction)."""
    with django_db_blocker.unblock():
        tenant = Tenant(schema_name="race-test", name="Race Test", uen="199904785Z")
        tenant.auto_create_schema = False
        tenant.save()
        plan = Plan.objects.create(
            name="Race",
            sku="race-month",
            billing_period="month",
            amount_cents=100,
            limits={"leads_per_month": 25, "enforcement": {"leads.created": "hard"}},
        )
        now = timezone.now()
        Subscription.objects.create(
            tenant=tenant,
            plan=plan,
            status="active",
            current_period_start=now - timedelta(days=1),
            current_period_end=now + timedelta(days=29),
        )
        yield tenant
        UsageRecord.objects.filter(tenant=tenant).delete()
        Subscription.objects.filter(tenant=tenant).delete()
        plan.delete()
        Tenant.objects.filter(pk=tenant.pk).delete()  # usage events stay: they are immutable


def test_a_hard_limit_holds_under_concurrency(committed_tenant, django_db_blocker):
    threads, attempts, limit = 8, 10, 25
    outcomes = []
    start = threading.Barrier(threads)

    def worker():
        with django_db_blocker.unblock():
            start.wait()
            for _ in range(attempts):
                try:
                    outcomes.append(record_usage(committed_tenant, "leads.created"))
                except QuotaExceeded:
                    outcomes.append(None)
            connection.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()

    successes = sorted(total for total in outcomes if total is not None)
    assert successes == list(range(1, limit + 1))  # exactly N, and no increment lost
    assert len(outcomes) == threads * attempts
    with django_db_blocker.unblock():
        assert UsageRecord.objects.get(tenant=committed_tenant).usage == limit
        assert UsageEvent.objects.filter(tenant=committed_tenant).count() == limit

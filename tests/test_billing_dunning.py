"""Dunning: a failed payment makes the subscription past due and tells the owner; after the grace
period the organisation is read-only (billing still open); a payment restores it at once."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event
from nexuscore.billing.dunning import enforce_grace_periods
from nexuscore.billing.models import Plan, Subscription
from tests.conftest import client_for
from tests.fixtures_billing import deliver, invoice_object, stripe_event, subscription_object

NOW = int(time.time())


@pytest.fixture(autouse=True)
def _billing(db, billing_media, webhook_secret):
    Plan.objects.filter(sku="growth-month").update(stripe_price_id="price_test_growth_month")


@pytest.fixture
def paying(acme):
    """Acme on a paid Growth subscription (its trial over and cleared)."""
    created = stripe_event("customer.subscription.created", subscription_object(acme), created=NOW)
    assert deliver(created).status_code == 200
    acme.refresh_from_db()
    assert acme.trial_ends_at is None
    return acme


def fail_payment(tenant, at=NOW, invoice_id="in_test_1"):
    event = stripe_event(
        "invoice.payment_failed", invoice_object(tenant, id=invoice_id), created=at
    )
    assert deliver(event).status_code == 200


def overdue_for(tenant, days):
    tenant.payment_overdue_since = timezone.now() - timedelta(days=days)
    tenant.save()  # forgets the cached host, as a change in this process does


def event_types(tenant):
    with schema_context(tenant.schema_name):
        return [e.event_type for e in Event.objects.order_by("created_at")]


def writes(tenant, user) -> int:
    """A write to a page that takes none: 405 while writable, 403 while read-only."""
    return client_for(tenant, user).post("/activity/").status_code


def test_a_failed_payment_is_past_due_and_the_owner_is_told(paying, owner, mailoutbox):
    fail_payment(paying)
    paying.refresh_from_db()
    assert int(paying.payment_overdue_since.timestamp()) == NOW
    assert Subscription.objects.live().get(tenant=paying).status == Subscription.Status.PAST_DUE
    (mail,) = [m for m in mailoutbox if "failed" in m.subject]
    assert mail.to == [owner.email]
    assert mail.subject == "Payment for Acme Trading Pte. Ltd. on NexusCore failed"
    billing_url = settings.SITE_URL.replace("://", "://acme.", 1) + "/billing/"
    assert billing_url in mail.body
    assert "becomes read-only" in mail.body
    assert "billing.payment_failed" in event_types(paying)


def test_within_the_grace_period_everything_still_works_and_everyone_is_told(paying, owner, member):
    fail_payment(paying)
    assert writes(paying, owner) == 405
    owner_page = client_for(paying, owner).get("/").content.decode()
    assert "A payment failed:" in owner_page and 'href="/billing/"' in owner_page
    member_page = client_for(paying, member).get("/").content.decode()
    assert "A payment failed:" in member_page and "An owner can update the card" in member_page


def test_stripe_retrying_keeps_the_first_failure_as_the_start(paying):
    fail_payment(paying, at=NOW - 3600)
    fail_payment(paying, at=NOW)  # Stripe's next attempt, a separate event
    paying.refresh_from_db()
    assert int(paying.payment_overdue_since.timestamp()) == NOW - 3600


def test_after_the_grace_period_it_is_read_only_but_billing_stays_open(paying, owner, member):
    fail_payment(paying)
    overdue_for(paying, 8)
    assert writes(paying, member) == 403
    refused = client_for(paying, owner).post("/activity/").content.decode()
    assert "read-only until the overdue payment is made" in refused
    assert 'href="/billing/" class="btn btn-primary">Pay now' in refused
    # Paying must stay possible: /billing/ and /accounts/ are not refused.
    checkout = client_for(paying, owner).post("/billing/checkout/", {"plan": "nothing"})
    assert checkout.status_code == 302
    assert client_for(paying, owner).post("/accounts/logout/").status_code == 302
    page = client_for(paying, member).get("/").content.decode()
    assert "is read-only until it is paid" in page


def test_an_htmx_write_after_the_grace_period_says_why(paying, owner):
    overdue_for(paying, 8)
    client = client_for(paying, owner)
    response = client.post("/activity/", HTTP_HX_REQUEST="true")
    assert (response.status_code, response["HX-Refresh"]) == (403, "true")
    assert "a payment for Acme Trading Pte. Ltd. is overdue" in client.get("/").content.decode()


def test_the_grace_period_is_a_setting(paying, owner, settings):
    settings.BILLING_GRACE_DAYS = 2
    overdue_for(paying, 3)
    assert writes(paying, owner) == 403
    settings.BILLING_GRACE_DAYS = 7
    assert writes(paying, owner) == 405


def test_the_end_of_the_grace_period_is_recorded_and_announced_once(
    paying, owner, mailoutbox, django_capture_on_commit_callbacks
):
    fail_payment(paying)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # the outbox sends after the commit
        assert enforce_grace_periods() == 0  # not yet
        overdue_for(paying, 8)
        assert enforce_grace_periods() == 1
        assert enforce_grace_periods() == 0
    assert event_types(paying).count("billing.read_only") == 1
    (mail,) = mailoutbox
    assert mail.to == [owner.email]
    assert "is read-only" in mail.subject


def test_a_payment_restores_it_at_once(paying, owner, mailoutbox):
    fail_payment(paying)
    overdue_for(paying, 8)
    assert writes(paying, owner) == 403
    paid = stripe_event("invoice.paid", invoice_object(paying, status="paid"), created=NOW + 60)
    assert deliver(paid).status_code == 200
    paying.refresh_from_db()
    assert paying.payment_overdue_since is None
    assert writes(paying, owner) == 405
    assert Subscription.objects.live().get(tenant=paying).status == Subscription.Status.ACTIVE
    types = event_types(paying)
    assert types.index("billing.payment_failed") < types.index("billing.payment_restored")
    assert "A payment" not in client_for(paying, owner).get("/").content.decode()


def test_a_stale_past_due_update_after_the_payment_changes_nothing(paying):
    fail_payment(paying)
    paid = stripe_event("invoice.paid", invoice_object(paying, status="paid"), created=NOW + 60)
    deliver(paid)
    stale = subscription_object(paying, status="past_due")
    deliver(stripe_event("customer.subscription.updated", stale, created=NOW + 30))
    assert Subscription.objects.live().get(tenant=paying).status == Subscription.Status.ACTIVE


def test_an_older_active_update_after_the_failure_keeps_it_past_due(paying):
    fail_payment(paying, at=NOW + 30)
    older = subscription_object(paying, status="active")
    deliver(stripe_event("customer.subscription.updated", older, created=NOW + 20))
    assert Subscription.objects.live().get(tenant=paying).status == Subscription.Status.PAST_DUE

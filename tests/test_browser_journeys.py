"""Journeys in a real browser that the other browser tests don't walk: a staff member replaying a
failed Stripe webhook in the staff admin (password, then a code from their authenticator app),
and an owner's tour of every main page of their organisation, with a screenshot of each kept in
test-artifacts/ for people to look at.

Drives Debian's Chromium through Playwright against gunicorn serving the test database. What the
browser needs is committed by the fixtures and removed afterwards.
"""

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from nexuscore.accounts.models import User
from nexuscore.billing.models import Subscription, WebhookEvent
from nexuscore.leads.models import Lead
from tests.browser import ARTIFACTS, sign_in
from tests.fixtures_billing import stripe_event, stripe_object
from tests.fixtures_mfa import give_authenticator, totp_code

# No django_db mark: the fixtures commit what gunicorn must see (a test transaction would hide
# it), and remove it afterwards.
pytestmark = [pytest.mark.browser]

STRIPE_SUBSCRIPTION = "sub_journey_replay"


@pytest.fixture
def failed_webhook(django_db_setup, django_db_blocker):
    """A trial_will_end event that failed (its subscription was not linked yet), and the
    staff member's authenticator app; the subscription is linked now, so a replay succeeds."""
    with django_db_blocker.unblock():
        staff = User.objects.get(email="staff@nexuscore.test")
        give_authenticator(staff)
        subscription = Subscription.objects.live().get(tenant__schema_name="acme")
        linked_before = subscription.stripe_subscription_id
        Subscription.objects.filter(pk=subscription.pk).update(
            stripe_subscription_id=STRIPE_SUBSCRIPTION
        )
        event = stripe_event(
            "customer.subscription.trial_will_end",
            stripe_object("subscription", id=STRIPE_SUBSCRIPTION),
            event_id="evt_journey_replay",
        )
        webhook = WebhookEvent.objects.create(
            event_id=event["id"],
            event_type=event["type"],
            payload=event,
            status=WebhookEvent.Status.FAILED,
            attempts=8,
            error="NotYetKnown: no subscription 'sub_journey_replay' yet",
        )
    yield webhook
    with django_db_blocker.unblock():
        webhook.delete()
        Subscription.objects.filter(pk=subscription.pk).update(stripe_subscription_id=linked_before)
        staff.authenticator_set.all().delete()


def test_staff_replay_a_failed_webhook(failed_webhook, site, browser):
    public = f"http://localhost:{site}"
    page = browser.new_page()
    page.goto(f"{public}/admin/")
    page.wait_for_url(f"{public}/accounts/login/**")
    sign_in(page, "staff@nexuscore.test")
    page.wait_for_url(f"{public}/accounts/2fa/authenticate/**")
    page.fill('input[name="code"]', totp_code())
    page.locator('form button[type="submit"]').first.click()
    page.wait_for_url(f"{public}/admin/")

    page.goto(f"{public}/admin/billing/webhookevent/?status__exact=failed")
    row = page.locator("tr", has_text="customer.subscription.trial_will_end")
    expect(row).to_contain_text("Failed")
    page.screenshot(path=ARTIFACTS / "admin-failed-webhooks.png", full_page=True)
    row.locator('input[name="_selected_action"]').check()
    page.select_option('select[name="action"]', "replay_events")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("body")).to_contain_text("Replayed 1 event(s); 1 processed.")
    page.goto(f"{public}/admin/billing/webhookevent/?status__exact=processed")
    expect(page.locator("tr", has_text="customer.subscription.trial_will_end")).to_contain_text(
        "Processed"
    )
    page.screenshot(path=ARTIFACTS / "admin-webhook-replayed.png", full_page=True)


@pytest.fixture
def a_lead_of_acme(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), schema_context("acme"):
        lead = Lead.objects.create(
            name="Tour Lead",
            email="tour.lead@example.sg",
            company="Tour Pte. Ltd.",
            next_follow_up=timezone.now(),
        )
    yield lead
    with django_db_blocker.unblock(), schema_context("acme"):
        Lead.objects.filter(pk=lead.pk).delete()


MAIN_PAGES = [
    ("dashboard", "/", "Dashboard"),
    ("leads", "/leads/", "Leads"),
    ("lead", None, "Tour Lead"),
    ("lead-new", "/leads/new/", "Add lead"),
    ("website-form", "/leads/website-form/", "Website form"),
    ("import", "/leads/import/", "Import"),
    ("billing", "/billing/", "Plan"),
    ("invoices", "/invoices/", "Invoices"),
    ("usage", "/usage/", "Usage"),
    ("team", "/team/", "Team"),
    ("settings", "/settings/", "Settings"),
    ("privacy", "/privacy/requests/", "Privacy"),
    ("activity", "/activity/", "Activity"),
    ("account", "/accounts/profile/", "Two-factor authentication"),
]


def test_an_owner_tours_every_main_page(a_lead_of_acme, site, browser):
    organisation = f"http://acme.localhost:{site}"
    page = browser.new_page()
    page.goto(f"{organisation}/accounts/login/")
    sign_in(page, "owner@acme.test")
    page.wait_for_url(f"{organisation}/")
    for name, path, heading in MAIN_PAGES:
        response = page.goto(organisation + (path or f"/leads/{a_lead_of_acme.pk}/"))
        assert response.status == 200, f"{name}: {response.status}"
        expect(page.locator("main h1, main h2").first).to_be_visible()
        expect(page.locator("body")).to_contain_text(heading)
        page.screenshot(path=ARTIFACTS / f"tour-{name}.png", full_page=True)

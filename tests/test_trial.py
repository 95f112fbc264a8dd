"""The free trial: the banner counting it down, read-only once it ends unpaid, and the reminder
emails to the owner."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from nexuscore.audit.models import Event
from nexuscore.billing.models import Plan, Subscription
from nexuscore.onboarding.tasks import send_trial_reminders
from tenants.models import Tenant
from tests.conftest import client_for


def _end_trial_at(tenant, when):
    """Move the tenant's trial end (subscription and tenant row, as provisioning sets them)."""
    Subscription.objects.filter(tenant=tenant).live().update(trial_end=when)
    tenant.trial_ends_at = when
    tenant.save()  # also forgets the cached host, so the next request sees it


def _subscription(tenant) -> Subscription:
    return Subscription.objects.live().get(tenant=tenant)


# ---- Banner --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_see_the_countdown(request, acme, role):
    _end_trial_at(acme, timezone.now() + timedelta(days=8, hours=23))
    page = client_for(acme, request.getfixturevalue(role)).get("/").content.decode()
    assert "Your trial of Growth ends in 9 days" in page
    assert 'href="/billing/" class="link">Choose a plan' in page
    assert "Choose a plan" in page


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_see_no_countdown(request, acme, role):
    _end_trial_at(acme, timezone.now() + timedelta(days=9, hours=1))
    page = client_for(acme, request.getfixturevalue(role)).get("/").content.decode()
    assert "Your trial" not in page
    assert "Choose a plan" not in page


def test_a_fresh_trial_has_all_its_days_left(owner):
    client = client_for(None, owner)
    client.post(
        "/signup/",
        {"name": "Initech", "slug": "initech", "uen": "202400001N", "billing_email": "a@b.sg",
         "plan": "scale-month"},
    )  # fmt: skip
    page = client_for(Tenant.objects.get(schema_name="initech"), owner).get("/").content.decode()
    assert "Your trial of Scale ends in 14 days" in page


def test_with_a_day_and_a_bit_left_it_says_two_days(acme, owner):
    _end_trial_at(acme, timezone.now() + timedelta(days=1, hours=2))
    page = client_for(acme, owner).get("/").content.decode()
    assert "Your trial of Growth ends in 2 days" in page


def test_on_the_last_day_the_banner_counts_hours(acme, owner):
    _end_trial_at(acme, timezone.now() + timedelta(hours=5, minutes=30))
    page = client_for(acme, owner).get("/").content.decode()
    assert "Your trial of Growth ends in 5\xa0hours" in page


def test_a_paid_organisation_has_no_banner_and_is_writable(acme, owner):
    Tenant.objects.filter(pk=acme.pk).update(trial_ends_at=None)
    acme.refresh_from_db()
    acme.save()
    client = client_for(acme, owner)
    assert "Your trial" not in client.get("/").content.decode()
    assert client.post("/activity/").status_code == 405  # the view's answer, not read-only


# ---- Read-only after the trial -------------------------------------------------------------


@pytest.fixture
def trial_over(acme):
    _end_trial_at(acme, timezone.now() - timedelta(hours=1))
    return acme


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer"])
def test_after_the_trial_writes_are_refused(request, trial_over, role):
    response = client_for(trial_over, request.getfixturevalue(role)).post("/activity/")
    assert response.status_code == 403
    content = response.content.decode()
    assert "Free trial ended" in content
    assert "read-only until a plan is chosen" in content
    assert "Your change was not saved" in content


def test_an_htmx_write_reloads_the_page_with_a_toast(trial_over, owner):
    client = client_for(trial_over, owner)
    response = client.post("/activity/", HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert response["HX-Refresh"] == "true"
    page = client.get("/").content.decode()
    assert "Nothing was saved: the free trial of Acme Trading Pte. Ltd. has ended" in page


def test_the_read_only_page_leads_owners_to_a_plan(trial_over, owner, member):
    owner_page = client_for(trial_over, owner).post("/activity/").content.decode()
    assert 'href="/billing/" class="btn btn-primary">Choose a plan' in owner_page
    member_page = client_for(trial_over, member).post("/activity/").content.decode()
    assert "/billing/" not in member_page
    assert "Ask an owner" in member_page


def test_after_the_trial_pages_still_show_and_say_why(trial_over, owner, member):
    owner_page = client_for(trial_over, owner).get("/")
    assert owner_page.status_code == 200
    content = owner_page.content.decode()
    assert "Your trial of Growth has ended" in content
    assert "read-only until you choose a plan" in content
    assert 'href="/billing/" class="link">Choose a plan' in content
    member_page = client_for(trial_over, member).get("/").content.decode()
    assert "read-only until an owner chooses a plan" in member_page
    assert "/billing/" not in member_page


def test_after_the_trial_people_can_still_sign_out_and_pay(trial_over, owner):
    client = client_for(trial_over, owner)
    assert client.post("/accounts/logout/").status_code == 302
    # /billing/ is exempt so that a plan can be bought (here: no plan chosen, so back to it).
    response = client_for(trial_over, owner).post("/billing/checkout/")
    assert (response.status_code, response["Location"]) == (302, "/billing/")


def test_a_suspended_organisation_still_says_suspended(trial_over, owner):
    Tenant.objects.filter(pk=trial_over.pk).update(status=Tenant.Status.SUSPENDED)
    trial_over.refresh_from_db()
    trial_over.save()
    content = client_for(trial_over, owner).post("/activity/").content.decode()
    assert "read-only while suspended" in content


# ---- Reminder emails -----------------------------------------------------------------------


@pytest.fixture
def remind(django_capture_on_commit_callbacks):
    """send_trial_reminders() as its task runs it: the reminders it queued go out when its
    transaction commits (the outbox)."""

    def run() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return send_trial_reminders()

    return run


def test_three_days_before_the_owner_is_reminded_once(acme, owner, mailoutbox, remind):
    _end_trial_at(acme, timezone.now() + timedelta(days=3))
    assert remind() == 1
    assert remind() == 0
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [owner.email]
    assert mail.subject == "Your NexusCore trial for Acme Trading Pte. Ltd. ends in 3 days"
    assert "Growth" in mail.body
    # Straight to the organisation's billing page, where the plan is chosen and paid for.
    assert acme.absolute_url("/billing/") in mail.body
    assert "://acme." in acme.absolute_url("/billing/")
    assert f"{settings.SITE_URL}/accounts/organisations/acme/open/" in mail.body
    html, mimetype = mail.alternatives[0]
    assert mimetype == "text/html"
    assert "Choose a plan" in html
    assert _subscription(acme).metadata == {"trial_reminders": ["3_days"]}
    assert Event.objects.filter(event_type="trial.reminder_sent", tenant=acme).count() == 1


def test_when_the_trial_has_ended_the_owner_is_told_once(acme, owner, mailoutbox, remind):
    _end_trial_at(acme, timezone.now() + timedelta(days=3))
    remind()
    _end_trial_at(acme, timezone.now() - timedelta(hours=2))
    assert remind() == 1
    assert remind() == 0
    assert [mail.subject for mail in mailoutbox] == [
        "Your NexusCore trial for Acme Trading Pte. Ltd. ends in 3 days",
        "Your NexusCore trial for Acme Trading Pte. Ltd. has ended",
    ]
    assert "is now read-only" in mailoutbox[1].body
    assert _subscription(acme).metadata == {"trial_reminders": ["3_days", "ended"]}


def test_on_the_last_day_the_owner_hears_it_ends_today(acme, mailoutbox, remind):
    zone = ZoneInfo("Asia/Singapore")
    late_today = timezone.localtime(timezone.now(), zone).replace(hour=23, minute=59, second=59)
    _end_trial_at(acme, late_today)
    assert remind() == 1
    assert mailoutbox[0].subject == "Your NexusCore trial for Acme Trading Pte. Ltd. ends today"
    assert "ends today" in mailoutbox[0].body
    assert _subscription(acme).metadata == {"trial_reminders": ["ended"]}


def test_an_owner_who_opted_out_gets_no_reminder(acme, owner, mailoutbox, remind):
    owner.email_preferences = {"trial": False}
    owner.save()
    _end_trial_at(acme, timezone.now() + timedelta(days=2))
    assert remind() == 0
    assert mailoutbox == []
    assert _subscription(acme).metadata == {}
    # Opting back in before the trial ends brings the reminder back.
    owner.email_preferences = {"trial": True}
    owner.save()
    assert remind() == 1


@pytest.mark.parametrize(
    "trial_end", [timedelta(days=10), timedelta(days=4, hours=1), -timedelta(days=10)]
)
def test_trials_outside_the_windows_get_nothing(acme, mailoutbox, trial_end, remind):
    _end_trial_at(acme, timezone.now() + trial_end)
    assert remind() == 0
    assert mailoutbox == []


def test_paid_cancelled_or_closed_organisations_get_nothing(acme, globex, mailoutbox, remind):
    _end_trial_at(acme, timezone.now() + timedelta(days=1))
    _end_trial_at(globex, timezone.now() + timedelta(days=1))
    Subscription.objects.filter(tenant=acme).update(status=Subscription.Status.ACTIVE)
    Tenant.objects.filter(pk=globex.pk).update(status=Tenant.Status.CLOSED)
    assert remind() == 0
    Subscription.objects.filter(tenant=acme).update(status=Subscription.Status.CANCELED)
    assert remind() == 0
    assert mailoutbox == []


def test_each_organisation_is_reminded_on_its_own(acme, globex, mailoutbox, remind):
    _end_trial_at(acme, timezone.now() + timedelta(days=3))
    _end_trial_at(globex, timezone.now() - timedelta(hours=1))
    assert remind() == 2
    assert sorted(mail.to[0] for mail in mailoutbox) == ["owner@acme.test", "owner@globex.test"]
    assert "Starter" in next(m.body for m in mailoutbox if m.to == ["owner@globex.test"])


def test_the_banner_shows_a_plan_changed_in_this_process_at_once(acme, owner):
    """The plan's name is kept with the host (one query per host lookup, not per page); a
    subscription changed in this process is seen on the next page."""
    client = client_for(acme, owner)
    first = client.get("/").content.decode()
    subscription = acme.subscriptions.live().select_related("plan").first()
    assert subscription is not None and f"Your trial of {subscription.plan.name}" in first
    other = Plan.objects.exclude(pk=subscription.plan_id).filter(name__isnull=False).first()
    subscription.plan = other
    subscription.save()
    assert f"Your trial of {other.name}" in client.get("/").content.decode()

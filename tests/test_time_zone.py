"""An organisation outside Singapore sees and enters times in its own zone on every kind of page,
and in the emails its tasks send."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from nexuscore.audit.models import record_event
from nexuscore.leads.models import Lead
from nexuscore.lib.forms import options_html
from tests.conftest import client_for, in_schema, make_lead

LONDON = ZoneInfo("Europe/London")
# 10:00 in London on a winter's day is 18:00 in Singapore: a page in the wrong zone shows 18:00.
DUE = datetime(2027, 1, 12, 10, 0, tzinfo=LONDON)


@pytest.fixture
def london(acme):
    acme.timezone = "Europe/London"
    acme.save(update_fields=["timezone"])
    return acme


@pytest.fixture
def lead(london, owner):
    return make_lead(
        london, name="Harriet Lim", next_follow_up=DUE, assigned_to=owner, company="Lim & Co"
    )


def test_the_zone_is_the_organisations_and_falls_back_to_singapore(london):
    assert london.zone == LONDON
    london.timezone = "Mars/Olympus_Mons"
    assert london.zone == ZoneInfo("Asia/Singapore")


def test_the_detail_page_shows_the_follow_up_in_the_organisations_zone(lead, london, owner):
    html = client_for(london, owner).get(f"/leads/{lead.pk}/").content.decode()
    assert "Tuesday 12 January 2027, 10:00" in html
    assert 'value="10:00"' in html  # the follow-up form's time field
    assert "18:00" not in html


def test_saving_the_edit_form_unchanged_keeps_the_time(lead, london, owner):
    client = client_for(london, owner)
    page = client.get(f"/leads/{lead.pk}/edit/")
    form = page.context["form"]
    assert 'value="2027-01-12T10:00"' in page.content.decode()
    data = {name: form[name].value() or "" for name in form.fields}
    data["next_follow_up"] = "2027-01-12T10:00"
    response = client.post(f"/leads/{lead.pk}/edit/", data)
    assert response.status_code == 302
    assert in_schema(london, lambda: Lead.objects.get(pk=lead.pk).next_follow_up) == DUE


def test_a_follow_up_set_on_the_detail_page_is_read_in_the_organisations_zone(lead, london, owner):
    client = client_for(london, owner)
    client.post(f"/leads/{lead.pk}/follow-up/", {"day": "2027-02-01", "at": "09:30"})
    stored = in_schema(london, lambda: Lead.objects.get(pk=lead.pk).next_follow_up)
    assert stored == datetime(2027, 2, 1, 9, 30, tzinfo=LONDON)


def test_the_list_shows_the_follow_up_in_the_organisations_zone(lead, london, owner):
    html = client_for(london, owner).get("/leads/").content.decode()
    assert "10:00" in html
    assert "18:00" not in html


def test_the_dashboard_shows_todays_follow_ups_in_the_organisations_zone(london, owner):
    now = timezone.now().astimezone(LONDON)
    due = now.replace(hour=23, minute=45, second=0, microsecond=0)
    make_lead(london, name="Late Caller", next_follow_up=due, assigned_to=owner)
    html = client_for(london, owner).get("/").content.decode()
    assert "Late Caller" in html
    assert due.strftime("%H:%M").lstrip("0") in html or "23:45" in html


def test_the_activity_page_shows_times_in_the_organisations_zone(london, owner):
    with schema_context(london.schema_name):
        event = record_event("lead.created", actor=owner, data={"lead": "x"})
    local = timezone.localtime(event.created_at, LONDON).strftime("%H:%M")
    singapore = timezone.localtime(event.created_at, ZoneInfo("Asia/Singapore")).strftime("%H:%M")
    html = client_for(london, owner).get("/activity/").content.decode()
    assert local in html
    if singapore != local:
        assert singapore not in html


def test_a_page_on_the_public_host_keeps_singapore_time(london, owner):
    """The zone is the organisation's for its own requests only, never left behind."""
    client_for(london, owner).get("/leads/")
    assert timezone.get_current_timezone() == ZoneInfo("Asia/Singapore")


def test_a_task_for_the_organisation_writes_times_in_its_zone(
    lead, london, owner, mailoutbox, django_capture_on_commit_callbacks
):
    """The daily digest (a task, no request) says 10:00, as the organisation's pages do."""
    from nexuscore.leads.tasks import send_follow_up_digests

    with django_capture_on_commit_callbacks(execute=True):
        send_follow_up_digests(now=DUE.replace(hour=7))
    digest = next(message for message in mailoutbox if "Harriet Lim" in message.body)
    assert "(10:00)" in digest.body


def test_a_task_enqueued_for_the_organisation_runs_in_its_zone(london):
    from tenants.tasks import run_in_schema

    zone = run_in_schema(london.schema_name, "django.utils.timezone.get_current_timezone")
    assert zone == LONDON
    assert timezone.get_current_timezone() == ZoneInfo("Asia/Singapore")


def test_the_settings_page_shows_the_organisations_zone_chosen(london, owner):
    html = client_for(london, owner).get("/settings/").content.decode()
    assert '<option value="Europe/London" selected>Europe/London</option>' in html
    assert html.count(" selected>") >= 1 and 'Asia/Singapore" selected' not in html


def test_a_zone_outside_the_list_stays_chosen_on_the_settings_page(acme, owner):
    """An organisation's zone that the list leaves out (Etc/..., set before the list was
    narrowed) is offered first and chosen, so saving the page unchanged keeps it."""
    acme.timezone = "Etc/GMT-8"
    acme.save(update_fields=["timezone"])
    html = client_for(acme, owner).get("/settings/").content.decode()
    assert '<option value="Etc/GMT-8" selected>Etc/GMT-8</option>' in html
    assert html.count("selected>Etc/GMT-8<") == 1 and 'Asia/Singapore" selected' not in html


def test_long_select_options_are_escaped_and_one_is_chosen():
    choices = [("a", "Plain"), ('"><script>', "<b>bold</b> & co"), ("c", "C")]
    html = options_html(choices, '"><script>')
    assert "<script>" not in html and "<b>" not in html
    assert (
        '<option value="&quot;&gt;&lt;script&gt;" selected>&lt;b&gt;bold&lt;/b&gt; &amp; co' in html
    )
    assert html.count(" selected") == 1 and options_html(choices, "c").count(" selected") == 1

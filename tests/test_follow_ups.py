"""The daily follow-up digest: each member's follow-ups due today, once a day, respecting email
preferences, across every organisation."""

from datetime import UTC, datetime, timedelta

import pytest
from django_tenants.utils import schema_context

from nexuscore.leads.models import FollowUpDigest
from nexuscore.leads.tasks import send_follow_up_digests
from tests.conftest import make_lead

# 10:00 in Singapore on 2 December 2026.
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def due_today(tenant, person, name, hours=1, **fields):
    return make_lead(
        tenant, name=name, assigned_to=person, next_follow_up=NOW + timedelta(hours=hours), **fields
    )


@pytest.fixture
def send_digests(django_capture_on_commit_callbacks):
    """send_follow_up_digests() as its task runs it: the digests it queued go out when its
    transaction commits (the outbox)."""

    def run(now) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return send_follow_up_digests(now=now)

    return run


def test_each_member_gets_their_follow_ups_once(
    acme, globex, member, admin, outsider, mailoutbox, send_digests
):
    due_today(acme, member, "Tan Wei Ling", company="Lion City")
    due_today(acme, member, "Rajesh Kumar", hours=-1)  # earlier today (08:00 in Singapore)
    due_today(acme, member, "Tomorrow Person", hours=24)
    due_today(acme, member, "Closed Person", status="won")
    due_today(acme, admin, "Siti Rahman")
    due_today(globex, outsider, "Globex Lead")
    assert send_digests(NOW) == 3
    by_person = {message.to[0]: message for message in mailoutbox}
    assert set(by_person) == {member.email, admin.email, outsider.email}
    body = by_person[member.email].body
    assert "Tan Wei Ling, Lion City" in body and "Rajesh Kumar" in body
    assert "Tomorrow Person" not in body and "Closed Person" not in body
    assert "2 follow-ups due today in Acme" in by_person[member.email].subject
    assert "http://acme.localhost" in body and "/leads/" in body
    assert "Globex Lead" in by_person[outsider.email].body
    # Run again the same day (django-q2 may deliver twice): nothing more.
    assert send_digests(NOW) == 0
    assert len(mailoutbox) == 3
    with schema_context("acme"):
        assert FollowUpDigest.objects.get(user=member).lead_count == 2
    # The next day is a new digest.
    due_today(acme, member, "Next Day", hours=24)
    assert send_digests(NOW + timedelta(days=1)) == 1


def test_respects_email_preferences(acme, member, mailoutbox, send_digests):
    member.email_preferences = {"follow_ups": False}
    member.save()
    due_today(acme, member, "Tan Wei Ling")
    assert send_digests(NOW) == 0
    assert mailoutbox == []


def test_people_who_left_get_nothing(acme, outsider, mailoutbox, send_digests):
    due_today(acme, outsider, "Assigned To A Former Member")
    assert send_digests(NOW) == 0
    assert mailoutbox == []


def test_unassigned_follow_ups_send_nothing(acme, mailoutbox, send_digests):
    make_lead(acme, next_follow_up=NOW)
    assert send_digests(NOW) == 0

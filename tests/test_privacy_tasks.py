"""Scheduled privacy work and the audit log's one sanctioned change: deadline reminders,
expiring links and exports, the retention rule, redact_events and the trigger, the schedules."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django_q.models import Schedule
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event, record_event, redact_events
from nexuscore.leads.models import Lead, LeadNote
from nexuscore.privacy.models import DSARRequest
from nexuscore.privacy.tasks import apply_retention, send_deadline_reminders
from tests.fixtures_privacy import make_person, make_request

pytestmark = pytest.mark.usefixtures("privacy_media")


@pytest.fixture
def remind(django_capture_on_commit_callbacks):
    """send_deadline_reminders() as its task runs it: the reminders it queued go out when its
    transaction commits (the outbox)."""

    def run() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return send_deadline_reminders()

    return run


def test_reminders_go_once_to_owners_and_admins(acme, owner, admin, mailoutbox, remind):
    soon = make_request("acme", days=5)
    make_request("acme", email="later@x.sg", days=20)
    assert remind() == 1
    (reminder,) = [m for m in mailoutbox if owner.email in m.to]
    assert admin.email in reminder.to
    assert f"/privacy/requests/{soon.pk}/" in reminder.body
    assert "later@x.sg" not in reminder.body
    mailoutbox.clear()
    remind()  # the next day: nothing new
    assert not [m for m in mailoutbox if owner.email in m.to]


def test_public_requests_remind_nexuscores_privacy_contact(db, settings, mailoutbox, remind):
    settings.NEXUSCORE_SALES_EMAIL = "dpo@nexuscore.test"
    make_request("public", days=2)
    remind()
    assert [m.to for m in mailoutbox] == [["dpo@nexuscore.test"]]
    assert "/admin/privacy/dsarrequest/" in mailoutbox[0].body


def test_unconfirmed_requests_expire_and_old_exports_are_deleted(acme, privacy_media):
    from django.core.files.base import ContentFile

    stale = make_request("acme", status="unverified")
    fresh = make_request("acme", email="fresh@x.sg", status="unverified")
    done = make_request("acme", email="done@x.sg", request_type="access", status="completed")
    with schema_context("acme"):
        DSARRequest.objects.filter(pk=stale.pk).update(
            requested_at=timezone.now() - timedelta(days=3)
        )
        done = DSARRequest.objects.get(pk=done.pk)
        done.export_file.save("x.zip", ContentFile(b"zip"), save=False)
        done.export_expires_at = timezone.now() - timedelta(hours=1)
        done.save()
        path = done.export_file.path
    assert "/acme/" in path  # under the organisation's own media folder
    send_deadline_reminders()
    with schema_context("acme"):
        assert DSARRequest.objects.get(pk=stale.pk).status == "expired"
        assert DSARRequest.objects.get(pk=fresh.pk).status == "unverified"
        assert not DSARRequest.objects.get(pk=done.pk).export_file
    import os

    assert not os.path.exists(path)


def _age(schema, lead, days):
    with schema_context(schema):
        Lead.objects.filter(pk=lead.pk).update(updated_at=timezone.now() - timedelta(days=days))


def test_retention_is_off_by_default(acme, owner):
    old = make_person(acme, "old@x.sg", "Old Lost", actor=owner, status="lost")
    _age("acme", old, 2000)
    assert apply_retention() == 0
    with schema_context("acme"):
        assert Lead.objects.get(pk=old.pk).email == "old@x.sg"


def test_retention_anonymises_expired_lost_and_unconverted_leads(acme, globex, owner):
    acme.settings = {**acme.settings, "lead_retention_months": 12}
    acme.save()
    lost = make_person(acme, "lost@x.sg", "Lost Lee", actor=owner, status="lost", note="lost")
    stale = make_person(acme, "stale@x.sg", "Stale Sim", actor=owner, status="contacted")
    won = make_person(acme, "won@x.sg", "Won Wong", actor=owner, status="won")
    make_person(acme, "recent@x.sg", "Recent Rao", actor=owner, status="lost")
    theirs = make_person(globex, "theirs@x.sg", "Globex Person", status="lost")
    for lead in (lost, stale, won):
        _age("acme", lead, 400)
    _age("globex", theirs, 400)
    assert apply_retention() == 2
    with schema_context("acme"):
        assert {lead.email for lead in Lead.objects.filter(anonymised_at__isnull=False)} == {""}
        assert set(
            Lead.objects.filter(anonymised_at__isnull=True).values_list("email", flat=True)
        ) >= {
            "won@x.sg",
            "recent@x.sg",
        }
        assert not LeadNote.objects.filter(text="lost").exists()
        assert not Event.objects.filter(data__name="Lost Lee").exists()
        event = Event.objects.get(event_type="privacy.retention_applied")
        assert (event.data["leads"], event.data["months"]) == (2, 12)
        # The rows still count.
        assert Lead.objects.filter(status="lost").count() == 2
    with schema_context("globex"):
        assert Lead.objects.get(pk=theirs.pk).email == "theirs@x.sg"
    assert apply_retention() == 0  # safe to run twice


def test_events_stay_append_only(acme):
    with schema_context("acme"):
        event = record_event("test.thing", data={"name": "Ann"})
        for statement in (
            "UPDATE audit_event SET data = '{}' WHERE id = %s",
            "DELETE FROM audit_event WHERE id = %s",
        ):
            with pytest.raises(DatabaseError), transaction.atomic():
                connection.cursor().execute(statement, [event.pk])


def test_redaction_changes_only_the_data(acme):
    with schema_context("acme"):
        event = record_event("test.thing", data={"name": "Ann", "lead": "1"})
        assert redact_events(Event.objects.filter(pk=event.pk), lambda d: {**d, "name": "x"}) == 1
        event.refresh_from_db()
        assert event.data == {"name": "x", "lead": "1"}
        # Even while redacting, the type, actor and time may not change, nor a row go.
        with pytest.raises(DatabaseError), transaction.atomic():
            cursor = connection.cursor()
            cursor.execute("SET LOCAL nexuscore.redacting = 'on'")
            cursor.execute("UPDATE audit_event SET event_type = 'x' WHERE id = %s", [event.pk])
        with pytest.raises(DatabaseError), transaction.atomic():
            cursor = connection.cursor()
            cursor.execute("SET LOCAL nexuscore.redacting = 'on'")
            cursor.execute("DELETE FROM audit_event WHERE id = %s", [event.pk])
        # After redact_events the same transaction is protected again.
        with pytest.raises(DatabaseError), transaction.atomic():
            redact_events(Event.objects.filter(pk=event.pk), lambda d: d)
            connection.cursor().execute(
                "UPDATE audit_event SET data = '{}' WHERE id = %s", [event.pk]
            )


def test_the_schedules_exist_once_in_public(db):
    names = set(Schedule.objects.filter(name__startswith="privacy").values_list("name", flat=True))
    assert names == {"privacy deadline reminders", "privacy retention"}
    assert set(Schedule.objects.filter(name__in=names).values_list("schedule_type", flat=True)) == {
        "D"
    }

"""The activity log (/activity/): filters by type, person and dates, pages, and words."""

import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from nexuscore.audit.models import record_event
from tests.conftest import client_for

SINGAPORE = ZoneInfo("Asia/Singapore")


def _insert_at(when, event_type, actor, label):
    """An event in acme's log at a chosen time. Event.created_at is auto_now_add, which the ORM
    always sets to now, so the row is written with SQL (inserting is all the trigger allows)."""
    with schema_context("acme"), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_event (id, event_type, actor_id, tenant_id, data, created_at) "
            "VALUES (%s, %s, %s, NULL, %s, %s)",
            [uuid.uuid4(), event_type, actor.pk, json.dumps({"label": label}), when],
        )


def test_filter_by_type(acme, owner, admin):
    record_event("lead.created", actor=owner, data={"name": "First lead"}, schema_name="acme")
    record_event("lead.deleted", actor=admin, data={"name": "Second lead"}, schema_name="acme")
    response = client_for(acme, owner).get("/activity/?type=lead.created")
    assert response.status_code == 200
    assert b"First lead" in response.content
    assert b"Second lead" not in response.content
    assert b'<option value="lead.created" selected>Lead created</option>' in response.content


def test_filter_by_person(acme, owner, admin):
    record_event("lead.created", actor=owner, data={"name": "By the owner"}, schema_name="acme")
    record_event("lead.created", actor=admin, data={"name": "By the admin"}, schema_name="acme")
    response = client_for(acme, owner).get(f"/activity/?person={admin.pk}")
    assert b"By the admin" in response.content
    assert b"By the owner" not in response.content
    # The person list holds this organisation's members and nobody else.
    assert b"Benjamin Lim" in response.content
    assert b"Grace Lee" not in response.content


def test_people_from_elsewhere_are_not_a_choice(acme, owner, outsider):
    response = client_for(acme, owner).get(f"/activity/?person={outsider.pk}")
    assert response.status_code == 200
    assert b"Choose a person from the list." in response.content


def test_filter_by_dates_in_the_organisations_time_zone(acme, owner):
    _insert_at(
        datetime(2026, 3, 1, 23, 30, tzinfo=SINGAPORE), "lead.created", owner, "first-of-march"
    )
    _insert_at(
        datetime(2026, 3, 2, 0, 30, tzinfo=SINGAPORE), "lead.created", owner, "second-of-march"
    )
    _insert_at(
        datetime(2026, 3, 3, 23, 59, tzinfo=SINGAPORE), "lead.created", owner, "third-of-march"
    )
    client = client_for(acme, owner)

    response = client.get("/activity/?from=2026-03-02&to=2026-03-03")
    assert b"second-of-march" in response.content
    assert b"third-of-march" in response.content
    assert b"first-of-march" not in response.content

    response = client.get("/activity/?to=2026-03-01")
    assert b"first-of-march" in response.content
    assert b"second-of-march" not in response.content

    response = client.get("/activity/?from=2026-03-03")
    assert b"third-of-march" in response.content
    assert b"second-of-march" not in response.content


def test_filters_combine(acme, owner, admin):
    _insert_at(datetime(2026, 3, 2, 12, 0, tzinfo=SINGAPORE), "lead.created", owner, "owner-lead")
    _insert_at(datetime(2026, 3, 2, 12, 0, tzinfo=SINGAPORE), "lead.created", admin, "admin-lead")
    _insert_at(datetime(2026, 3, 2, 12, 0, tzinfo=SINGAPORE), "lead.deleted", admin, "admin-delete")
    response = client_for(acme, owner).get(
        f"/activity/?type=lead.created&person={admin.pk}&from=2026-03-02&to=2026-03-02"
    )
    assert b"admin-lead" in response.content
    assert b"owner-lead" not in response.content
    assert b"admin-delete" not in response.content


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=yesterday", b"Enter a date like 2026-11-25."),
        ("from=2026-03-05&to=2026-03-01", b"This date is before the"),
        ("type=no.such.thing", b"Choose a type of activity from the list."),
        ("person=not-a-person", b"Choose a person from the list."),
        ("page=999999", b"Activity"),
        ("page=abc", b"Activity"),
    ],
)
def test_bad_filters_are_explained_never_a_500(acme, owner, query, message):
    response = client_for(acme, owner).get(f"/activity/?{query}")
    assert response.status_code == 200
    assert message in response.content


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("to=9999-12-31", "to", "Enter a date from 1900-01-01 to 2099-12-31."),
        ("from=9999-12-31", "from", "Enter a date from 1900-01-01 to 2099-12-31."),
        ("from=0001-01-01", "from", "Enter a date from 1900-01-01 to 2099-12-31."),
        ("to=0001-01-01", "to", "Enter a date from 1900-01-01 to 2099-12-31."),
        ("to=10000-01-01", "to", "Enter a date like 2026-11-25."),
        ("to=2026-02-30", "to", "Enter a date like 2026-11-25."),
    ],
)
def test_dates_off_the_calendar_are_explained_on_their_field(acme, owner, query, field, message):
    """The day after 9999-12-31 does not exist: the "to" filter once failed with a 500."""
    record_event("lead.created", actor=owner, data={"name": "Still listed"}, schema_name="acme")
    response = client_for(acme, owner).get(f"/activity/?{query}")
    assert response.status_code == 200
    body = response.content.decode()
    error_list = body.split(f'id="id_{field}_error">', 1)[1].split("</ul>", 1)[0]
    assert message in error_list
    assert "Some filters were not applied" in body
    assert "Still listed" in body  # the valid filters (here none) still apply
    assert 'min="1900-01-01"' in body and 'max="2099-12-31"' in body


def test_events_are_shown_in_words_with_a_summary(acme, owner, admin):
    record_event(
        "member.role_changed",
        actor=owner,
        data={"member": "member@acme.test", "old": "member", "new": "viewer"},
        schema_name="acme",
    )
    record_event(
        "organisation.updated",
        actor=admin,
        data={"changes": {"timezone": {"old": "Asia/Singapore", "new": "Asia/Tokyo"}}},
        schema_name="acme",
    )
    body = client_for(acme, owner).get("/activity/").content.decode()
    assert "Role changed" in body
    assert "member@acme.test: Member → Viewer" in body
    assert "Settings changed" in body
    assert "time zone: Asia/Singapore → Asia/Tokyo" in body
    assert "Alice Tan" in body and "Benjamin Lim" in body


def test_pages_of_fifty_keep_the_filters(acme, owner):
    for n in range(55):
        record_event("lead.created", actor=owner, data={"n": n}, schema_name="acme")
    client = client_for(acme, owner)
    first = client.get("/activity/?type=lead.created")
    assert b"Page 1 of 2" in first.content
    assert b'href="?type=lead.created&amp;page=2"' in first.content
    second = client.get("/activity/?type=lead.created&page=2")
    assert b"Page 2 of 2" in second.content
    assert second.content.count(b"<code") == 5


def test_htmx_gets_only_the_events(acme, owner):
    record_event("lead.created", actor=owner, data={"name": "Via htmx"}, schema_name="acme")
    response = client_for(acme, owner).get(
        "/activity/?type=lead.created", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="events"')
    assert "Via htmx" in body
    assert "<html" not in body
    assert "HX-Request" in response["Vary"]


def test_the_full_page_form_works_without_javascript(acme, owner):
    body = client_for(acme, owner).get("/activity/").content.decode()
    assert '<form method="get" action="/activity/"' in body
    assert 'hx-push-url="true"' in body
    for name in ("type", "person", "from", "to"):
        assert f'name="{name}"' in body


@pytest.mark.parametrize(("role", "status"), [("member", 403), ("viewer", 403)])
def test_members_and_viewers_cannot_read_the_log(request, acme, role, status):
    assert client_for(acme, request.getfixturevalue(role)).get("/activity/").status_code == status


def test_anonymous_outsider_and_wrong_method(acme, owner, outsider):
    assert client_for(acme).get("/activity/").status_code == 302
    assert client_for(acme, outsider).get("/activity/").status_code == 403
    assert client_for(acme, owner).post("/activity/").status_code == 405


def test_only_this_organisations_events(acme, globex, owner, outsider):
    record_event(
        "lead.created", actor=outsider, data={"name": "Globex secret"}, schema_name="globex"
    )
    response = client_for(acme, owner).get("/activity/")
    assert b"Globex secret" not in response.content
    response = client_for(acme, owner).get(f"/activity/?person={outsider.pk}")
    assert b"Globex secret" not in response.content

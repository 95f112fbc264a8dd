"""One lead: the detail page and its timeline, create and edit, status with lost reason,
assignment, notes, follow-up, convert and delete; for each role and across organisations."""

import re

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event
from nexuscore.leads.forms import normalise_phone
from nexuscore.leads.models import Lead, LeadNote
from nexuscore.quotas.models import UsageEvent
from tests.conftest import client_for, in_schema, make_lead, set_plan_limits

ROLES = ["owner", "admin", "member", "viewer"]
VALID = {"name": "Tan Wei Ling", "email": "WeiLing@LionCity.sg", "phone": "9123 4567",
         "source": "manual", "status": "new"}  # fmt: skip


def lead_in(tenant, pk):
    return in_schema(tenant, lambda: Lead.objects.get(pk=pk))


# --- Phone numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("9123 4567", "+6591234567"),
        ("6123-4567", "+6561234567"),
        ("(65) 8123 4567", "+6581234567"),
        ("+65 3123 4567", "+6531234567"),
        ("0065 9123 4567", "+6591234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("", ""),
    ],
)
def test_phone_numbers_are_normalised(typed, stored):
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize("typed", ["1234 5678", "912345", "+65 1234 5678", "call me", "+12"])
def test_bad_phone_numbers_are_refused(typed):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        normalise_phone(typed)


# --- Detail ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_member_sees_a_lead(request, acme, role):
    lead = make_lead(acme, name="Tan Wei Ling", company="Lion City", utm_source="google")
    response = client_for(acme, request.getfixturevalue(role)).get(f"/leads/{lead.pk}/")
    assert response.status_code == 200
    assert b"Tan Wei Ling" in response.content and b"Lion City" in response.content
    assert b"source google" in response.content
    assert (b"Change status" in response.content) == (role != "viewer")
    assert (b">Delete</a>" in response.content) == (role in ("owner", "admin"))


def test_detail_anonymous_outsider_and_other_organisation(acme, globex, owner, outsider):
    lead = make_lead(acme)
    theirs = make_lead(globex, name="Globex Secret")
    assert client_for(acme).get(f"/leads/{lead.pk}/").status_code == 302
    assert client_for(acme, outsider).get(f"/leads/{lead.pk}/").status_code == 403
    response = client_for(acme, owner).get(f"/leads/{theirs.pk}/")
    assert response.status_code == 404
    assert b"Globex Secret" not in response.content
    assert client_for(acme, owner).get("/leads/not-a-uuid/").status_code == 404
    assert client_for(acme, owner).post(f"/leads/{lead.pk}/").status_code == 405


def test_timeline_shows_what_happened(acme, member, admin):
    lead = make_lead(acme, name="Tan Wei Ling")
    client = client_for(acme, member)
    client.post(f"/leads/{lead.pk}/status/", {"status": "contacted"})
    client.post(f"/leads/{lead.pk}/assign/", {"assigned_to": str(admin.pk)})
    client.post(f"/leads/{lead.pk}/notes/", {"text": "Wants a demo on Tuesday."})
    client.post(f"/leads/{lead.pk}/follow-up/", {"day": "2026-12-01", "at": "10:30"})
    other = make_lead(acme, name="Someone Else")
    client.post(f"/leads/{other.pk}/notes/", {"text": "Not about Tan."})
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "changed the status from new to contacted" in page
    assert f"assigned it to {admin.name}" in page
    assert "Wants a demo on Tuesday." in page
    assert "set a follow-up" in page
    assert "Lead added (added by hand)." in page
    assert "Not about Tan." not in page


# --- Create and edit ---------------------------------------------------------------------------


def test_member_creates_a_lead(acme, member):
    response = client_for(acme, member).post("/leads/new/", VALID)
    with schema_context(acme.schema_name):
        lead = Lead.objects.get()
        assert response["Location"] == f"/leads/{lead.pk}/"
        assert (lead.email, lead.phone) == ("weiling@lioncity.sg", "+6591234567")
        event = Event.objects.get(event_type="lead.created")
        assert event.data["lead"] == str(lead.pk) and event.actor == member
    usage = UsageEvent.objects.get(tenant=acme, metric="leads.created")
    assert usage.metadata == {"lead": str(lead.pk), "source": "manual"}


def test_create_form_shows_field_errors_and_keeps_values(acme, member):
    response = client_for(acme, member).post(
        "/leads/new/",
        {
            "name": " ",
            "email": "not-an-email",
            "phone": "12",
            "company": "Lion City",
            "source": "manual",
            "status": "lost",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Enter a valid email address." in page
    assert "is not a Singapore number" in page
    assert "Say why the lead was lost" in page
    assert 'value="Lion City"' in page
    assert in_schema(acme, Lead.objects.count) == 0


def test_duplicate_email_warns_then_saves_on_confirmation(acme, member):
    existing = make_lead(acme, name="Tan Wei Ling", email="weiling@lioncity.sg")
    client = client_for(acme, member)
    first = client.post("/leads/new/", {**VALID, "name": "Wei Ling Tan"})
    assert first.status_code == 200
    assert f'href="/leads/{existing.pk}/"'.encode() in first.content
    assert b"already has this email" in first.content
    assert in_schema(acme, Lead.objects.count) == 1
    second = client.post(
        "/leads/new/", {**VALID, "name": "Wei Ling Tan", "confirm_duplicate": "on"}
    )
    assert second.status_code == 302
    assert in_schema(acme, Lead.objects.count) == 2


def test_duplicate_check_as_you_type(acme, member):
    existing = make_lead(acme, email="weiling@lioncity.sg")
    client = client_for(acme, member)
    hit = client.get(
        "/leads/check-email/", {"email": "WEILING@lioncity.sg"}, HTTP_HX_REQUEST="true"
    )
    assert f"/leads/{existing.pk}/".encode() in hit.content
    assert b"already" not in client.get("/leads/check-email/", {"email": "x@y.sg"}).content
    editing = client.get(
        "/leads/check-email/", {"email": "weiling@lioncity.sg", "lead": str(existing.pk)}
    )
    assert b"already" not in editing.content


def test_create_refused_at_the_hard_limit(acme, member):
    set_plan_limits(acme, leads_per_month=0, enforcement={"leads.created": "hard"})
    response = client_for(acme, member).post("/leads/new/", VALID)
    assert response.status_code == 200
    assert b"Compare plans" in response.content and b"/pricing/" in response.content
    assert in_schema(acme, Lead.objects.count) == 0


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("outsider", 403)])
def test_create_refused(request, acme, role, status):
    client = client_for(acme, request.getfixturevalue(role))
    assert client.get("/leads/new/").status_code == status
    assert client.post("/leads/new/", VALID).status_code == status
    assert in_schema(acme, Lead.objects.count) == 0


def test_create_anonymous_and_wrong_method(acme, owner):
    assert client_for(acme).get("/leads/new/").status_code == 302
    assert client_for(acme, owner).put("/leads/new/").status_code == 405


def test_edit(acme, member):
    lead = make_lead(acme, name="Tan Wei Ling", email="weiling@lioncity.sg")
    client = client_for(acme, member)
    assert b'value="Tan Wei Ling"' in client.get(f"/leads/{lead.pk}/edit/").content
    response = client.post(
        f"/leads/{lead.pk}/edit/",
        {**VALID, "email": "weiling@lioncity.sg", "company": "Lion City", "status": "won"},
    )
    assert response.status_code == 302
    edited = lead_in(acme, lead.pk)
    assert (edited.company, edited.status) == ("Lion City", "won")
    assert edited.converted_at is not None
    event = in_schema(acme, lambda: Event.objects.get(event_type="lead.updated"))
    assert set(event.data["fields"]) >= {"company", "phone"}
    assert "status" not in event.data["fields"]  # a state change has its own event


def test_a_status_changed_on_the_edit_form_is_recorded_as_a_status_change(acme, member, owner):
    """The edit form changes state through the same events as the list's inline actions: the
    activity log and the lead's timeline read the same whichever way it was done."""
    lead = make_lead(acme, name="Tan Wei Ling", email="weiling@lioncity.sg")
    client_for(acme, member).post(
        f"/leads/{lead.pk}/edit/",
        {**VALID, "email": "weiling@lioncity.sg", "status": "lost", "lost_reason": "Budget",
         "assigned_to": str(owner.pk)},
    )  # fmt: skip
    events = in_schema(acme, lambda: {e.event_type: e.data for e in Event.objects.all()})
    assert events["lead.status_changed"] == {
        "lead": str(lead.pk), "from": "new", "to": "lost", "reason": "Budget"
    }  # fmt: skip
    assert events["lead.assigned"]["to"] == str(owner.pk)


def test_edit_other_organisations_lead_is_404(acme, globex, owner):
    theirs = make_lead(globex)
    client = client_for(acme, owner)
    assert client.get(f"/leads/{theirs.pk}/edit/").status_code == 404
    assert client.post(f"/leads/{theirs.pk}/edit/", VALID).status_code == 404
    assert lead_in(globex, theirs.pk).name == theirs.name


def test_viewer_cannot_edit(acme, viewer):
    lead = make_lead(acme)
    assert client_for(acme, viewer).post(f"/leads/{lead.pk}/edit/", VALID).status_code == 403


# --- Status, notes, follow-up, convert, delete ---------------------------------------------------


def test_status_lost_needs_a_reason(acme, member):
    lead = make_lead(acme)
    client = client_for(acme, member)
    response = client.post(f"/leads/{lead.pk}/status/", {"status": "lost"})
    assert response.status_code == 200
    assert b"Say why the lead was lost" in response.content
    client.post(f"/leads/{lead.pk}/status/", {"status": "lost", "lost_reason": "Chose a rival"})
    changed = lead_in(acme, lead.pk)
    assert (changed.status, changed.lost_reason) == ("lost", "Chose a rival")
    event = in_schema(acme, lambda: Event.objects.get(event_type="lead.status_changed"))
    assert event.data["reason"] == "Chose a rival"


def test_status_page_preselects_the_asked_status(acme, member):
    lead = make_lead(acme)
    page = client_for(acme, member).get(f"/leads/{lead.pk}/status/?status=lost")
    assert re.search(rb'value="lost"\s+selected', page.content)


def test_status_garbage(acme, member):
    lead = make_lead(acme)
    response = client_for(acme, member).post(f"/leads/{lead.pk}/status/", {"status": "exploded"})
    assert response.status_code == 200
    assert lead_in(acme, lead.pk).status == "new"


def test_notes(acme, member, viewer):
    lead = make_lead(acme)
    client_for(acme, member).post(f"/leads/{lead.pk}/notes/", {"text": "Called; no answer."})
    client_for(acme, member).post(f"/leads/{lead.pk}/notes/", {"text": ""})
    assert (
        client_for(acme, viewer).post(f"/leads/{lead.pk}/notes/", {"text": "x"}).status_code == 403
    )
    with schema_context(acme.schema_name):
        assert list(LeadNote.objects.values_list("text", "author")) == [
            ("Called; no answer.", member.pk)
        ]
    assert client_for(acme, member).get(f"/leads/{lead.pk}/notes/").status_code == 405


def test_follow_up_set_in_singapore_time_and_cleared(acme, member):
    lead = make_lead(acme)
    client = client_for(acme, member)
    client.post(f"/leads/{lead.pk}/follow-up/", {"day": "2026-12-01", "at": "09:30"})
    follow_up = lead_in(acme, lead.pk).next_follow_up
    assert follow_up.isoformat() == "2026-12-01T01:30:00+00:00"
    client.post(f"/leads/{lead.pk}/follow-up/", {"day": "", "at": ""})
    assert lead_in(acme, lead.pk).next_follow_up is None
    client.post(f"/leads/{lead.pk}/follow-up/", {"day": "someday"})
    assert lead_in(acme, lead.pk).next_follow_up is None


def test_convert(acme, member):
    lead = make_lead(acme, status="proposal")
    client = client_for(acme, member)
    client.post(f"/leads/{lead.pk}/convert/")
    converted = lead_in(acme, lead.pk)
    assert converted.status == "won" and converted.converted_at is not None
    client.post(f"/leads/{lead.pk}/convert/")
    assert in_schema(acme, lambda: Event.objects.filter(event_type="lead.converted").count()) == 1
    assert client.get(f"/leads/{lead.pk}/convert/").status_code == 405


@pytest.mark.parametrize("role", ["member", "viewer", "outsider"])
def test_only_owners_and_admins_delete(request, acme, role):
    lead = make_lead(acme)
    response = client_for(acme, request.getfixturevalue(role)).post(f"/leads/{lead.pk}/delete/")
    assert response.status_code == 403
    assert in_schema(acme, Lead.objects.count) == 1


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owner_and_admin_delete_after_confirming(request, acme, role):
    lead = make_lead(acme, name="Tan Wei Ling")
    client = client_for(acme, request.getfixturevalue(role))
    assert b"Delete Tan Wei Ling" in client.get(f"/leads/{lead.pk}/delete/").content
    assert client.post(f"/leads/{lead.pk}/delete/").status_code == 302
    assert in_schema(acme, Lead.objects.count) == 0
    event = in_schema(acme, lambda: Event.objects.get(event_type="lead.deleted"))
    assert event.data == {"lead": str(lead.pk)}  # no personal data left behind


def test_delete_other_organisations_lead_is_404(acme, globex, owner):
    theirs = make_lead(globex)
    assert client_for(acme, owner).post(f"/leads/{theirs.pk}/delete/").status_code == 404
    assert in_schema(globex, Lead.objects.count) == 1


@pytest.mark.parametrize(
    "path", ["status", "assign", "notes", "follow-up", "convert", "delete", "edit"]
)
def test_actions_for_another_organisations_lead_are_404(acme, globex, owner, path):
    theirs = make_lead(globex)
    response = client_for(acme, owner).post(f"/leads/{theirs.pk}/{path}/", {"status": "won"})
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["status", "assign", "notes", "follow-up", "convert"])
def test_actions_anonymous(acme, path):
    lead = make_lead(acme)
    response = client_for(acme).post(f"/leads/{lead.pk}/{path}/", {"status": "won"})
    assert response.status_code == 302
    assert lead_in(acme, lead.pk).status == "new"


def test_timezone_is_singapore():
    assert str(timezone.get_current_timezone()) == "Asia/Singapore"

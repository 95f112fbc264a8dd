"""A deletion's two steps are taken by two people: an owner or admin approves, and another
owner or admin carries it out. Only an organisation with a single owner or admin lets one
person take both, and its pages say why. The rule lives in the action functions, so the
organisation's inbox and the staff admin (NexusCore's own requests, worked by staff) obey it.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from nexuscore.accounts.models import User
from nexuscore.audit.models import Event
from nexuscore.leads.models import Lead
from nexuscore.privacy import actions
from nexuscore.privacy.models import DSARRequest
from tenants.models import Membership
from tests.conftest import client_for
from tests.fixtures_mfa import give_authenticator
from tests.fixtures_privacy import ANN, make_person

pytestmark = pytest.mark.usefixtures("privacy_media")

APPROVE = "/privacy/requests/{pk}/approve/"
CARRY_OUT = "/privacy/requests/{pk}/delete/"


def deletion_request(schema, email=ANN, status="open", approved_by=None) -> DSARRequest:
    """A confirmed deletion request in `schema`, approved by `approved_by` if given."""
    now = timezone.now()
    with schema_context(schema):
        dsar = DSARRequest(email=email, request_type="deletion", status=status)
        dsar.new_token()
        dsar.verified_at, dsar.due_at = now, now + timedelta(days=30)
        if approved_by is not None:
            dsar.status = DSARRequest.Status.APPROVED
            dsar.deletion_approved_by, dsar.deletion_approved_at = approved_by, now
        dsar.save()
    return dsar


def status_of(schema, dsar) -> str:
    with schema_context(schema):
        return DSARRequest.objects.get(pk=dsar.pk).status


@pytest.fixture
def ann(acme, owner):
    return make_person(acme, ANN, "Ann Tan", actor=owner)


def ann_is_anonymised(ann) -> bool:
    with schema_context("acme"):
        return Lead.objects.get(pk=ann.pk).anonymised_at is not None


# --- Who may reach the two steps ----------------------------------------------------------------


@pytest.mark.parametrize("path", [APPROVE, CARRY_OUT])
def test_anonymous_people_are_sent_to_sign_in(acme, owner, path):
    dsar = deletion_request("acme", approved_by=owner if path == CARRY_OUT else None)
    response = client_for(acme).post(path.format(pk=dsar.pk))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert status_of("acme", dsar) == ("approved" if path == CARRY_OUT else "open")


@pytest.mark.parametrize("role", ["member", "viewer", "outsider"])
@pytest.mark.parametrize("path", [APPROVE, CARRY_OUT])
def test_members_viewers_and_outsiders_are_refused(request, acme, owner, ann, role, path):
    dsar = deletion_request("acme", approved_by=owner if path == CARRY_OUT else None)
    response = client_for(acme, request.getfixturevalue(role)).post(path.format(pk=dsar.pk))
    assert response.status_code == 403
    assert status_of("acme", dsar) == ("approved" if path == CARRY_OUT else "open")
    assert not ann_is_anonymised(ann)


@pytest.mark.parametrize(("first", "second"), [("owner", "admin"), ("admin", "owner")])
def test_an_owner_and_an_admin_take_one_step_each(request, acme, ann, first, second):
    first, second = request.getfixturevalue(first), request.getfixturevalue(second)
    dsar = deletion_request("acme")
    assert client_for(acme, first).post(APPROVE.format(pk=dsar.pk)).status_code == 302
    assert status_of("acme", dsar) == "approved"
    assert client_for(acme, second).post(CARRY_OUT.format(pk=dsar.pk)).status_code == 302
    assert status_of("acme", dsar) == "completed"
    assert ann_is_anonymised(ann)


@pytest.mark.parametrize("path", [APPROVE, CARRY_OUT])
def test_the_other_organisations_request_is_not_found(acme, owner, outsider, path):
    theirs = deletion_request("globex", approved_by=outsider if path == CARRY_OUT else None)
    response = client_for(acme, owner).post(path.format(pk=theirs.pk))
    assert response.status_code == 404
    assert status_of("globex", theirs) == ("approved" if path == CARRY_OUT else "open")


# --- A second person, when there is one --------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_the_approver_cannot_carry_out_their_own_approval(request, acme, ann, role):
    approver = request.getfixturevalue(role)
    client = client_for(acme, approver)
    dsar = deletion_request("acme")
    client.post(APPROVE.format(pk=dsar.pk))
    response = client.post(CARRY_OUT.format(pk=dsar.pk), follow=True)
    assert b"You approved this deletion, so another owner or admin must check it" in (
        response.content
    )
    assert status_of("acme", dsar) == "approved"
    assert not ann_is_anonymised(ann)


def test_the_action_itself_refuses_the_approver(acme, owner, admin, ann):
    """Not only the view: whatever calls the action (a view, the staff admin, a shell) gets
    the same answer."""
    dsar = deletion_request("acme", approved_by=owner)
    with schema_context("acme"):
        with pytest.raises(actions.NotAllowedNow, match="another owner or admin"):
            actions.carry_out_deletion(dsar, actor=owner)
        assert DSARRequest.objects.get(pk=dsar.pk).status == "approved"
        assert not Event.objects.filter(event_type="privacy.deletion_completed").exists()


def test_a_deletion_confirmed_twice_at_once_runs_once(acme, owner, admin, ann, mailoutbox):
    """Two pages opened before either confirmed: the second confirmation finds the row (locked
    while the first ran) carried out already, and nothing runs or is sent twice."""
    dsar = deletion_request("acme", approved_by=owner)
    with schema_context("acme"):
        first, second = (DSARRequest.objects.get(pk=dsar.pk) for _ in range(2))
        actions.carry_out_deletion(first, actor=admin)
        with pytest.raises(actions.NotAllowedNow, match="already been carried out"):
            actions.carry_out_deletion(second, actor=admin)
        assert Event.objects.filter(event_type="privacy.deletion_completed").count() == 1
    assert len([m for m in mailoutbox if "has been deleted" in m.subject]) == 1


@pytest.mark.parametrize("role", ["member", "viewer", "outsider"])
def test_the_actions_refuse_people_outside_the_privacy_team(request, acme, owner, role):
    person = request.getfixturevalue(role)
    waiting, approved = deletion_request("acme"), deletion_request("acme", approved_by=owner)
    with schema_context("acme"):
        with pytest.raises(actions.NotAllowedNow, match="Only owners and admins"):
            actions.approve_deletion(waiting, actor=person)
        with pytest.raises(actions.NotAllowedNow, match="Only owners and admins"):
            actions.carry_out_deletion(approved, actor=person)
    assert status_of("acme", waiting) == "open"
    assert status_of("acme", approved) == "approved"


def test_the_pages_say_who_approved_and_who_must_confirm(acme, owner, admin):
    dsar = deletion_request("acme")
    before = client_for(acme, owner).get(f"/privacy/requests/{dsar.pk}/").content.decode()
    assert "Then another owner or admin checks what will be anonymised" in before
    approving = client_for(acme, owner).post(APPROVE.format(pk=dsar.pk), follow=True)
    assert b"Another owner or admin must now check it and carry it out." in approving.content

    approver_page = client_for(acme, owner).get(f"/privacy/requests/{dsar.pk}/").content.decode()
    assert "Approved by Alice Tan" in approver_page
    assert (
        "You approved this deletion, so another owner or admin must check it and carry it out: "
        "Benjamin Lim." in approver_page
    )
    assert "Anonymise now" not in approver_page

    second_page = client_for(acme, admin).get(f"/privacy/requests/{dsar.pk}/").content.decode()
    assert "Approved by Alice Tan" in second_page
    assert "As a second owner or admin, you confirm it." in second_page
    assert "Anonymise now" in second_page


def test_the_audit_log_records_both_people(acme, owner, admin, ann):
    dsar = deletion_request("acme")
    client_for(acme, owner).post(APPROVE.format(pk=dsar.pk))
    client_for(acme, admin).post(CARRY_OUT.format(pk=dsar.pk))
    with schema_context("acme"):
        approved = Event.objects.get(event_type="privacy.deletion_approved")
        completed = Event.objects.get(event_type="privacy.deletion_completed")
    assert approved.actor == owner
    assert completed.actor == admin
    assert completed.data["approved_by"] == str(owner.pk)
    assert "same_person" not in completed.data
    assert ANN not in str(completed.data)
    history = client_for(acme, admin).get(f"/privacy/requests/{dsar.pk}/").content.decode()
    assert "Deletion approved by Alice Tan" in history
    assert "Data anonymised by Benjamin Lim" in history


# --- One person, when there is no one else ------------------------------------------------------


def test_the_only_owner_takes_both_steps(globex, outsider):
    lead = make_person(globex, ANN, "Ann Tan", actor=outsider)
    dsar = deletion_request("globex")
    client = client_for(globex, outsider)
    page = client.get(f"/privacy/requests/{dsar.pk}/").content.decode()
    assert "You are the only owner or admin of Globex Services, so you will also take step 2" in (
        page
    )
    client.post(APPROVE.format(pk=dsar.pk))
    page = client.get(f"/privacy/requests/{dsar.pk}/").content.decode()
    assert "you are the only owner or admin of Globex Services, so nobody else can" in page
    assert "Anonymise now" in page
    assert client.post(CARRY_OUT.format(pk=dsar.pk)).status_code == 302
    assert status_of("globex", dsar) == "completed"
    with schema_context("globex"):
        assert Lead.objects.get(pk=lead.pk).anonymised_at is not None
        completed = Event.objects.get(event_type="privacy.deletion_completed")
    assert completed.actor == outsider
    assert completed.data["approved_by"] == str(outsider.pk)
    assert completed.data["same_person"] is True


def test_an_owner_alone_again_may_finish_what_they_approved(acme, owner, admin, ann):
    """The second owner or admin is counted when step 2 is taken: if they have left (or are
    no longer an admin), the approver is alone and may finish."""
    dsar = deletion_request("acme", approved_by=owner)
    client = client_for(acme, owner)
    client.post(CARRY_OUT.format(pk=dsar.pk))
    assert status_of("acme", dsar) == "approved"
    Membership.objects.filter(tenant=acme, user=admin).update(role=Membership.Role.MEMBER)
    client.post(CARRY_OUT.format(pk=dsar.pk))
    assert status_of("acme", dsar) == "completed"
    assert ann_is_anonymised(ann)


# --- NexusCore's own requests, in the staff admin ----------------------------------------------


def _admin_action(client, action, dsar):
    return client.post(
        "/admin/privacy/dsarrequest/",
        {"action": action, "_selected_action": [str(dsar.pk)]},
        follow=True,
    )


def test_staff_need_a_second_member_of_staff_when_there_is_one(staff_with_mfa):
    lead = make_person(None, ANN, "Ann Tan")
    colleague = User.objects.create_superuser("dpo@nexuscore.test", "x", "Dana Ong")
    give_authenticator(colleague)
    dsar = deletion_request("public")
    first = client_for(None, staff_with_mfa)
    _admin_action(first, "approve_deletion", dsar)
    refused = _admin_action(first, "carry_out_deletion", dsar)
    assert b"another member of staff must check it and carry it out" in refused.content
    assert status_of("public", dsar) == "approved"
    _admin_action(client_for(None, colleague), "carry_out_deletion", dsar)
    assert status_of("public", dsar) == "completed"
    with schema_context("public"):
        assert Lead.objects.get(pk=lead.pk).anonymised_at is not None
        completed = Event.objects.get(
            event_type="privacy.deletion_completed", data__request=str(dsar.pk)
        )
    assert completed.actor == colleague
    assert completed.data["approved_by"] == str(staff_with_mfa.pk)

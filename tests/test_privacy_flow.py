"""Each kind of privacy request from the form to its answer, on an organisation's host and on
the public site: access (export, download), deletion (two steps), correction, withdrawing
consent; and the withdrawal link in every email to the person."""

import io
import json
import re
import zipfile

import pytest
from django.core import mail
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event
from nexuscore.leads.models import Lead, LeadNote
from nexuscore.privacy.models import DSARRequest
from nexuscore.quotas.models import UsageEvent
from tests.conftest import client_for
from tests.fixtures_privacy import (
    ANN,
    JOANN,
    file_and_confirm,
    file_request,
    link_in,
    make_person,
)

pytestmark = pytest.mark.usefixtures("privacy_media")


def requests_in(schema):
    with schema_context(schema):
        return list(DSARRequest.objects.all())


def archive_from(response) -> zipfile.ZipFile:
    content = b"".join(response.streaming_content)
    return zipfile.ZipFile(io.BytesIO(content))


def test_access_request_on_an_organisation_host(acme, owner, admin, ann_and_joann):
    exports = UsageEvent.objects.filter(tenant=acme, metric="privacy.exports")
    counted_before = exports.count()
    path = file_and_confirm(acme, ANN, "access")
    (dsar,) = requests_in("acme")
    assert dsar.status == DSARRequest.Status.COMPLETED
    assert dsar.verified_at is not None
    assert (dsar.due_at - dsar.verified_at).days == 30
    # The owners and admins heard about it; the person got the download link.
    to_team = [m for m in mail.outbox if owner.email in m.to]
    assert to_team and admin.email in to_team[0].to
    ready = [m for m in mail.outbox if m.to == [ANN] and "ready to download" in m.subject]
    download = link_in(ready[0], "/privacy/download/")
    # The status page shows the download too.
    page = client_for(acme).get(path)
    assert b"Download your data" in page.content
    response = client_for(acme).get(download)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = archive_from(response)
    assert {"summary.txt", "data.json", "leads.csv", "notes.csv", "activity.csv"} <= set(
        archive.namelist()
    )
    data = json.loads(archive.read("data.json"))
    assert [lead["email"] for lead in data["leads"]] == [ANN]
    assert data["leads"][0]["consent_version"] == "1"
    assert data["leads"][0]["form_data"] == {"message": "I am Ann, call me"}
    assert [note["text"] for note in data["notes"]] == ["Ann prefers calls after 6pm"]
    # Nothing of Joann's, anywhere in the archive.
    for name in archive.namelist():
        text = archive.read(name).decode("utf-8-sig")
        assert JOANN not in text and "Joann" not in text and "98765432" not in text
    summary = archive.read("summary.txt").decode()
    assert "HOW YOUR DATA WAS USED OR DISCLOSED" in summary
    assert "Your details were recorded" in summary
    assert "five years" in summary
    # It counted against the plan.
    assert exports.count() == counted_before + 1


def test_access_export_of_someone_unknown_is_an_empty_answer(acme, ann_and_joann):
    file_and_confirm(acme, "nobody@x.sg", "access")
    (dsar,) = requests_in("acme")
    assert dsar.status == DSARRequest.Status.COMPLETED
    assert dsar.metadata["exported"] == {"leads": 0, "notes": 0}


def test_access_request_on_the_public_site_includes_the_account(acme, member, staff):
    make_person(None, member.email, "Member Person")
    path = file_and_confirm(None, member.email, "access")
    (dsar,) = requests_in("public")
    assert dsar.status == DSARRequest.Status.COMPLETED
    assert dsar.user == member
    ready = next(m for m in mail.outbox if m.to == [member.email] and "ready" in m.subject)
    assert "NexusCore" in ready.subject
    response = client_for(None).get(link_in(ready, "/privacy/download/"))
    data = json.loads(archive_from(response).read("data.json"))
    assert data["account"]["email"] == member.email
    assert [m["organisation"] for m in data["memberships"]] == [acme.name]
    assert [lead["name"] for lead in data["leads"]] == ["Member Person"]
    assert client_for(None).get(path).status_code == 200
    # The public schema has no plan: nothing is counted.
    assert not UsageEvent.objects.filter(metric="privacy.exports").exists()


def test_an_export_past_the_plan_limit_fails_and_can_be_retried(acme, owner, ann_and_joann):
    from tests.conftest import set_plan_limits

    set_plan_limits(acme, privacy_exports_per_month=0)
    file_and_confirm(acme, ANN, "access")
    (dsar,) = requests_in("acme")
    assert dsar.status == DSARRequest.Status.FAILED
    assert "limit" in dsar.failure_reason
    page = client_for(acme, owner).get(f"/privacy/requests/{dsar.pk}/")
    assert b"Try the export again" in page.content
    set_plan_limits(acme, privacy_exports_per_month=5, members=50)
    response = client_for(acme, owner).post(f"/privacy/requests/{dsar.pk}/export/")
    assert response.status_code == 302
    (dsar,) = requests_in("acme")
    assert dsar.status == DSARRequest.Status.COMPLETED


def _everything_text(schema) -> str:
    with schema_context(schema):
        leads = list(Lead.objects.values())
        notes = list(LeadNote.objects.values_list("text", flat=True))
        events = list(Event.objects.values_list("data", flat=True))
    return json.dumps([leads, notes, events], default=str)


def test_deletion_on_an_organisation_host_needs_two_steps(acme, owner, admin, ann_and_joann):
    ann, joann = ann_and_joann
    file_and_confirm(acme, ANN, "deletion")
    (dsar,) = requests_in("acme")
    assert dsar.status == DSARRequest.Status.OPEN
    client = client_for(acme, admin)
    # Step 2 before step 1 is refused.
    client.post(f"/privacy/requests/{dsar.pk}/delete/")
    with schema_context("acme"):
        assert Lead.objects.get(pk=ann.pk).email == ANN
    # The owner approves; the admin, a second person, carries it out.
    approved = client_for(acme, owner).post(f"/privacy/requests/{dsar.pk}/approve/")
    assert approved.status_code == 302
    (dsar,) = requests_in("acme")
    assert (dsar.status, dsar.deletion_approved_by) == (DSARRequest.Status.APPROVED, owner)
    page = client.get(f"/privacy/requests/{dsar.pk}/")
    assert b"anonymises 1 lead and 1 note" in page.content
    assert client.post(f"/privacy/requests/{dsar.pk}/delete/").status_code == 302
    (dsar,) = requests_in("acme")
    assert dsar.status == DSARRequest.Status.COMPLETED
    assert dsar.metadata["deleted"]["leads"] == 1
    everything = _everything_text("acme")
    for trace in ("Ann Tan", "91234567", "Ann's Bakery", "Ann prefers", "I am Ann"):
        assert trace not in everything, trace
    # ann@x.sg is gone; joann@x.sg (which contains it) stays.
    assert not re.search(r"(?<!jo)ann@x\.sg", everything)
    assert JOANN in everything
    with schema_context("acme"):
        anonymous = Lead.objects.get(pk=ann.pk)
        assert anonymous.anonymised_at is not None and anonymous.status == ann.status
        assert anonymous.consent_withdrawn_at is not None
        # Joann is untouched.
        assert Lead.objects.get(pk=joann.pk).email == JOANN
        assert LeadNote.objects.filter(text="Joann wants a quote").exists()
        assert Event.objects.filter(data__to=JOANN).exists()
    done = next(m for m in mail.outbox if m.to == [ANN] and "deleted" in m.subject)
    assert "five years" in done.body


def test_deletion_keeps_invoices(acme, owner, admin, ann_and_joann):
    from nexuscore.billing.models import Invoice

    before = Invoice.objects.count()
    file_and_confirm(acme, ANN, "deletion")
    (dsar,) = requests_in("acme")
    client_for(acme, owner).post(f"/privacy/requests/{dsar.pk}/approve/")
    client_for(acme, admin).post(f"/privacy/requests/{dsar.pk}/delete/")
    assert requests_in("acme")[0].status == DSARRequest.Status.COMPLETED
    assert Invoice.objects.count() == before


def test_deletion_on_the_public_site_through_the_staff_admin(staff_with_mfa):
    lead = make_person(None, ANN, "Ann Tan")
    make_person(None, JOANN, "Joann Lim")
    file_and_confirm(None, ANN, "deletion")
    (dsar,) = requests_in("public")
    client = client_for(None, staff_with_mfa)
    url = "/admin/privacy/dsarrequest/"
    assert ANN.encode() in client.get(url).content
    for action in ("approve_deletion", "carry_out_deletion"):
        response = client.post(url, {"action": action, "_selected_action": [str(dsar.pk)]})
        assert response.status_code == 302
    with schema_context("public"):
        assert Lead.objects.get(pk=lead.pk).email == ""
        assert Lead.objects.filter(email=JOANN).exists()
    assert not re.search(r"(?<!jo)ann@x\.sg", _everything_text("public"))


def test_correction_is_applied_with_one_click(acme, owner, ann_and_joann):
    ann, _ = ann_and_joann
    file_and_confirm(
        acme, ANN, "correction", correction_field="phone", correction_value="8123 4567"
    )
    (dsar,) = requests_in("acme")
    page = client_for(acme, owner).get(f"/privacy/requests/{dsar.pk}/")
    assert "Phone number: “8123 4567”".encode() in page.content
    client_for(acme, owner).post(f"/privacy/requests/{dsar.pk}/correct/")
    with schema_context("acme"):
        assert Lead.objects.get(pk=ann.pk).phone == "+6581234567"
        assert Event.objects.filter(event_type="lead.updated", data__lead=str(ann.pk)).exists()
    (dsar,) = requests_in("acme")
    assert dsar.status == DSARRequest.Status.COMPLETED


def test_correction_on_the_public_site(staff_with_mfa):
    lead = make_person(None, ANN, "Ann Tann")
    file_and_confirm(None, ANN, "correction", correction_field="name", correction_value="Ann Tan")
    (dsar,) = requests_in("public")
    client_for(None, staff_with_mfa).post(
        "/admin/privacy/dsarrequest/",
        {"action": "apply_correction", "_selected_action": [str(dsar.pk)]},
    )
    with schema_context("public"):
        assert Lead.objects.get(pk=lead.pk).name == "Ann Tan"


@pytest.mark.parametrize("tenant_name", ["acme", None])
def test_withdrawing_consent_by_request(tenant_name, request, ann_and_joann):
    tenant = request.getfixturevalue(tenant_name) if tenant_name else None
    schema = tenant_name or "public"
    if tenant is None:
        make_person(None, ANN, "Ann Tan")
    file_and_confirm(tenant, ANN, "withdraw_consent")
    (dsar,) = requests_in(schema)
    assert dsar.status == DSARRequest.Status.COMPLETED
    with schema_context(schema):
        assert Lead.objects.get(email=ANN).consent_withdrawn_at is not None
        if schema == "acme":
            assert Lead.objects.get(email=JOANN).consent_withdrawn_at is None


def test_every_email_to_the_person_carries_the_withdrawal_link(acme, owner, ann_and_joann):
    file_and_confirm(acme, ANN, "access")
    to_ann = [m for m in mail.outbox if m.to == [ANN]]
    assert len(to_ann) == 2  # the confirmation link, the download link
    for message in to_ann:
        assert "/privacy/withdraw/" in message.body
    path = link_in(to_ann[0], "/privacy/withdraw/")
    page = client_for(acme).get(path)
    assert b"Withdraw my consent" in page.content
    assert client_for(acme).post(path).status_code == 200
    with schema_context("acme"):
        assert Lead.objects.get(email=ANN).consent_withdrawn_at is not None
        assert Lead.objects.get(email=JOANN).consent_withdrawn_at is None
    # A withdrawal link made for acme does nothing on globex.
    assert client_for(acme.__class__.objects.get(schema_name="globex")).get(path).status_code == 404


def test_email_lead_refuses_once_consent_is_withdrawn(acme, ann_and_joann):
    from nexuscore.privacy.consent import email_lead, withdraw_consent

    ann, _ = ann_and_joann
    with schema_context("acme"):
        assert email_lead(Lead.objects.get(pk=ann.pk), subject="Hello", body="News")
        assert "/privacy/withdraw/" in mail.outbox[-1].body
        withdraw_consent(ANN, via="test")
        assert not email_lead(Lead.objects.get(pk=ann.pk), subject="Hello", body="News")


def test_file_request_then_form_error_for_correction_without_value(acme):
    response = file_request(acme, ANN, "correction")
    assert response.status_code == 200
    assert b"Choose which detail is wrong." in response.content
    assert b"Enter the correct value." in response.content


def test_deletion_stops_the_follow_up_digest_that_names_them(acme, owner, admin, ann_and_joann):
    from datetime import timedelta

    from django.utils import timezone

    from nexuscore.leads.tasks import send_follow_up_digests_for

    ann, _ = ann_and_joann
    soon = timezone.now() + timedelta(minutes=5)
    with schema_context("acme"):
        Lead.objects.filter(pk=ann.pk).update(assigned_to=owner, next_follow_up=soon)
    file_and_confirm(acme, ANN, "deletion")
    (dsar,) = requests_in("acme")
    client_for(acme, owner).post(f"/privacy/requests/{dsar.pk}/approve/")
    client_for(acme, admin).post(f"/privacy/requests/{dsar.pk}/delete/")
    mail.outbox.clear()
    with schema_context("acme"):
        assert Lead.objects.get(pk=ann.pk).next_follow_up is None
        send_follow_up_digests_for(acme)
    assert not [m for m in mail.outbox if "Ann" in m.body]

"""CSV import: upload, column mapping with a preview, the task, duplicates (skip or update), bad
rows and the report, odd encodings, the plan's limit, 10,000 rows, and who may import."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event
from nexuscore.leads.imports import sniff
from nexuscore.leads.models import Lead, LeadImport
from tests.conftest import client_for
from tests.test_leads_list import in_schema, make_lead
from tests.test_quotas import _limit

CSV = (
    "Name,Email,Mobile,Company,Stage\n"
    "Tan Wei Ling,weiling@lioncity.sg,9123 4567,Lion City,New\n"
    "Rajesh Kumar,RAJESH@marina.sg,+44 20 7946 0958,Marina Consulting,qualified\n"
    ",nobody@example.sg,,No Name Ltd,new\n"
    "Bad Email,not-an-email,,,new\n"
    "Bad Phone,badphone@example.sg,1234,,new\n"
    "Odd Status,odd@example.sg,,,on fire\n"
    "Wei Ling Again,weiling@lioncity.sg,,,new\n"
    ",,,,\n"
)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def upload(client, content: bytes, name="leads.csv", duplicates="skip"):
    return client.post(
        "/leads/import/",
        {"file": SimpleUploadedFile(name, content, "text/csv"), "duplicates": duplicates},
    )


def run(tenant, user, content: bytes, duplicates="skip", mapping=None):
    """Upload, accept the guessed mapping (or `mapping`), let the task run; the LeadImport."""
    client = client_for(tenant, user)
    response = upload(client, content, duplicates=duplicates)
    assert response.status_code == 302, response.content.decode()[:2000]
    map_url = response["Location"]
    page = client.get(map_url)
    form = page.context["form"]
    data = {name: field.initial or "" for name, field in form.fields.items()}
    data.update(mapping or {})
    done = client.post(map_url, data)
    assert done.status_code == 302, done.content.decode()[:3000]
    return in_schema(tenant, lambda: LeadImport.objects.get()), client


def test_upload_shows_the_mapping_and_a_preview(acme, owner):
    client = client_for(acme, owner)
    response = upload(client, CSV.encode())
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Tan Wei Ling" in html and "Marina Consulting" in html  # preview rows
    assert '<option value="phone" selected>' in html  # "Mobile" guessed as the phone
    assert '<option value="status" selected>' in html  # "Stage" as the status


def test_import_with_bad_rows_duplicates_and_a_report(acme, owner):
    make_lead(acme, name="Already Here", email="rajesh@marina.sg")
    lead_import, client = run(acme, owner, CSV.encode())
    assert lead_import.status == "done"
    assert (lead_import.total, lead_import.processed) == (8, 8)
    assert (lead_import.created, lead_import.updated) == (1, 0)
    assert lead_import.skipped == 2  # Rajesh is already a lead; one empty row
    assert lead_import.rejected == 5
    with schema_context(acme.schema_name):
        tan = Lead.objects.get(email="weiling@lioncity.sg")
        assert (tan.phone, tan.company, tan.source, tan.status) == (
            "+6591234567",
            "Lion City",
            "import",
            "new",
        )
        assert Lead.objects.get(email="rajesh@marina.sg").name == "Already Here"
        event = Event.objects.get(event_type="leads.import_finished")
        assert event.data["created"] == 1 and event.actor == owner
    progress = client.get(f"/leads/import/{lead_import.pk}/")
    assert b"Download the rejected rows" in progress.content
    report = client.get(f"/leads/import/{lead_import.pk}/report/")
    assert report.status_code == 200
    assert report["Content-Disposition"].startswith("attachment")
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == "Row,Reason,Name,Email,Mobile,Company,Stage"
    reasons = {line.split(",")[0]: line.split(",")[1] for line in lines[1:]}
    assert reasons == {
        "4": "the name is empty",
        "5": "“not-an-email” is not an email address",
        "6": reasons["6"],
        "7": "“on fire” is not a status",
        "8": "the same email as row 2",
    }
    assert "is not a Singapore number" in reasons["6"]


def test_duplicates_can_update(acme, owner):
    existing = make_lead(acme, name="Rajesh K", email="rajesh@marina.sg", company="Old Co")
    lead_import, _ = run(acme, owner, CSV.encode(), duplicates="update")
    assert lead_import.updated == 1
    with schema_context(acme.schema_name):
        rajesh = Lead.objects.get(pk=existing.pk)
        assert (rajesh.name, rajesh.company, rajesh.phone, rajesh.status) == (
            "Rajesh Kumar",
            "Marina Consulting",
            "+442079460958",
            "qualified",
        )


def test_utf8_with_bom(acme, owner):
    content = "\ufeffName,Email,Company\nLim Mei Xin,meixin@example.sg,Café Orchard\n".encode()
    assert sniff(content) == ("utf-8-sig", ",")
    lead_import, _ = run(acme, owner, content)
    assert lead_import.created == 1
    assert in_schema(acme, lambda: Lead.objects.get().company) == "Café Orchard"


def test_excel_csv_cp1252_with_semicolons(acme, owner):
    content = "Name;E-mail;Company\r\nJosé Tan;jose@example.sg;Crème Brûlée Pte Ltd\r\n".encode(
        "cp1252"
    )
    assert sniff(content) == ("cp1252", ";")
    lead_import, _ = run(acme, owner, content)
    assert lead_import.created == 1
    lead = in_schema(acme, lambda: Lead.objects.get())
    assert (lead.name, lead.email, lead.company) == (
        "José Tan",
        "jose@example.sg",
        "Crème Brûlée Pte Ltd",
    )


def test_first_and_last_name_columns(acme, owner):
    content = b"First name,Last name,Email\nWei Ling,Tan,wl@example.sg\n"
    _lead_import, _ = run(acme, owner, content)
    assert in_schema(acme, lambda: Lead.objects.get().name) == "Wei Ling Tan"


def test_mapping_must_name_someone(acme, owner):
    client = client_for(acme, owner)
    response = upload(client, b"Email,Company\nx@example.sg,X\n")
    page = client.post(response["Location"], {"column_0": "email", "column_1": "company"})
    assert page.status_code == 200
    assert b"Choose the column with each person" in page.content
    twice = client.post(response["Location"], {"column_0": "name", "column_1": "name"})
    assert b"is already filled from" in twice.content
    assert in_schema(acme, Lead.objects.count) == 0


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"", "The submitted file is empty."),
        (b"\n\n", "The first row should name the columns"),
        (b"PK\x03\x04\x00\x00binary", "This looks like a spreadsheet"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(acme, owner, content, error):
    response = upload(client_for(acme, owner), content)
    assert response.status_code == 200
    assert error.encode() in response.content
    assert in_schema(acme, LeadImport.objects.count) == 0


def test_plan_limit_rejects_the_remaining_rows(acme, owner):
    _limit(acme, leads_per_month=2, enforcement={"leads.created": "hard"})
    rows = "".join(f"Person {n},p{n}@example.sg\n" for n in range(5))
    lead_import, client = run(acme, owner, f"Name,Email\n{rows}".encode())
    assert (lead_import.created, lead_import.rejected) == (2, 3)
    report = b"".join(client.get(f"/leads/import/{lead_import.pk}/report/").streaming_content)
    assert report.decode("utf-8-sig").count("plan limit reached") == 3


def test_ten_thousand_rows(acme, owner):
    rows = "".join(
        f"Person {n},person{n}@example.sg,9{n % 10_000_000:07d},Company {n % 50}\n"
        for n in range(10_000)
    )
    started = time.monotonic()
    lead_import, _ = run(acme, owner, f"Name,Email,Phone,Company\n{rows}".encode())
    elapsed = time.monotonic() - started
    assert (lead_import.created, lead_import.rejected) == (10_000, 0)
    assert in_schema(acme, Lead.objects.count) == 10_000
    assert elapsed < 30  # the goal is under 10 s; CI machines vary


def test_running_the_task_again_imports_nothing_more(acme, owner):
    from nexuscore.leads.imports import run_import

    lead_import, _ = run(acme, owner, b"Name,Email\nTan,tan@example.sg\n")
    with schema_context(acme.schema_name):
        run_import(str(lead_import.pk))
        assert Lead.objects.count() == 1


def test_progress_partial_polls_until_finished(acme, owner):
    client = client_for(acme, owner)
    response = upload(client, b"Name,Email\nTan,tan@example.sg\n")
    waiting = in_schema(acme, lambda: LeadImport.objects.get())
    with schema_context(acme.schema_name):
        LeadImport.objects.filter(pk=waiting.pk).update(status="running", total=10, processed=4)
    partial = client.get(f"/leads/import/{waiting.pk}/", HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content
    assert b'hx-trigger="every 1s"' in partial.content
    assert b"4 of 10 rows (40%)" in partial.content
    assert response.status_code == 302


@pytest.mark.parametrize("role", ["member", "viewer", "outsider"])
def test_only_owners_and_admins_import(request, acme, owner, role):
    lead_import, _ = run(acme, owner, CSV.encode())
    client = client_for(acme, request.getfixturevalue(role))
    assert client.get("/leads/import/").status_code == 403
    assert upload(client, CSV.encode()).status_code == 403
    assert client.get(f"/leads/import/{lead_import.pk}/").status_code == 403
    assert client.get(f"/leads/import/{lead_import.pk}/report/").status_code == 403


def test_admin_imports(acme, admin):
    lead_import, _ = run(acme, admin, b"Name,Email\nTan,tan@example.sg\n")
    assert lead_import.created == 1


def test_anonymous_and_other_organisation(acme, globex, owner, outsider):
    lead_import, _ = run(acme, owner, CSV.encode())
    assert client_for(acme).get(f"/leads/import/{lead_import.pk}/report/").status_code == 302
    client = client_for(globex, outsider)
    assert client.get(f"/leads/import/{lead_import.pk}/").status_code == 404
    assert client.get(f"/leads/import/{lead_import.pk}/report/").status_code == 404
    assert client.get(f"/leads/import/{lead_import.pk}/map/").status_code == 404


def test_report_is_not_a_public_file(acme, owner):
    lead_import, _ = run(acme, owner, CSV.encode())
    assert client_for(acme).get(f"/media/{lead_import.report.name}").status_code in (302, 404)
    assert (
        client_for(acme, owner).post(f"/leads/import/{lead_import.pk}/report/").status_code == 405
    )


def test_the_uploaded_file_is_deleted_once_the_import_is_done(acme, owner):
    """It is personal data no longer needed; the report of rejected rows stays."""
    lead_import, _ = run(acme, owner, CSV.encode())
    storage = lead_import.report.storage
    with schema_context(acme.schema_name):
        assert not lead_import.file
        assert not storage.exists(f"imports/{lead_import.pk}.csv")
        assert storage.exists(lead_import.report.name)


def test_a_deletion_request_clears_the_persons_rejected_rows(acme, owner):
    from nexuscore.privacy.erasure import anonymise_leads, leads_of

    content = CSV + "Ann Tan,ann@x.sg,1234,,new\nJoann Lim,joann@x.sg,1234,,new\n"
    lead_import, client = run(acme, owner, content.encode())
    with schema_context(acme.schema_name):
        counts = anonymise_leads(leads_of("ann@x.sg"), emails=["ann@x.sg"])
        lead_import.refresh_from_db()
    assert counts["import_rows"] == 1
    assert lead_import.rejected == 7  # the statistics stay
    report = client.get(f"/leads/import/{lead_import.pk}/report/")
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    assert "ann@x.sg" not in text.replace("joann@x.sg", "")
    assert "Ann Tan" not in text
    assert "joann@x.sg" in text and "Joann Lim" in text  # nobody else's row is touched

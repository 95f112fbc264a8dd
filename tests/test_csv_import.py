"""CSV import: upload, column mapping with a preview, the task, duplicates (skip or update), bad
rows and the report, odd encodings, the plan's limit, 10,000 rows, and who may import."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event
from nexuscore.leads.imports import MAX_COLUMNS, sniff
from nexuscore.leads.models import Lead, LeadImport
from tests.conftest import client_for, in_schema, make_lead, set_plan_limits, upload

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
        (b"N\x00a\x00m\x00e\x00\n\x00", "This looks like a spreadsheet"),  # UTF-16
        (b"Name,Email\nTan,t@example.sg\nL\x00m,l@example.sg\n", "Line 3 contains a NUL"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(acme, owner, content, error):
    response = upload(client_for(acme, owner), content)
    assert response.status_code == 200
    assert error.encode() in response.content
    assert in_schema(acme, LeadImport.objects.count) == 0


def test_plan_limit_rejects_the_remaining_rows(acme, owner):
    set_plan_limits(acme, leads_per_month=2, enforcement={"leads.created": "hard"})
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
    lead_import, _ = run(acme, owner, f"Name,Email,Phone,Company\n{rows}".encode())
    assert (lead_import.created, lead_import.rejected) == (10_000, 0)
    assert in_schema(acme, Lead.objects.count) == 10_000  # its time is make bench's business


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


# --- Cells a spreadsheet would run ---------------------------------------------------------------


def test_the_report_neutralises_cells_a_spreadsheet_would_run(acme, owner):
    content = (
        'Name,Email,=cmd|"/c calc"!A1\n'
        '"=HYPERLINK(""http://x.example"")",not-an-email,@SUM(A1)\n'
        "Normal Person,also-not-an-email,plain\n"
    )
    lead_import, client = run(acme, owner, content.encode())
    assert lead_import.rejected == 2
    report = client.get(f"/leads/import/{lead_import.pk}/report/")
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    header, visitor, normal = csv.reader(io.StringIO(text))
    assert header == ["Row", "Reason", "Name", "Email", '\'=cmd|"/c calc"!A1']
    assert visitor[2:] == ['\'=HYPERLINK("http://x.example")', "not-an-email", "'@SUM(A1)"]
    assert visitor[0] == "2"  # our own numbers stay numbers
    assert normal[2:] == ["Normal Person", "also-not-an-email", "plain"]


def test_a_file_we_exported_imports_as_it_was(acme, owner):
    """The export puts a ' in front of cells a spreadsheet would run; the import takes it off."""
    content = "Name,Email,Phone,Company\n'=1+1,ann@example.sg,'+6591234567,'-Dash Ltd\n"
    lead_import, _ = run(acme, owner, content.encode())
    assert lead_import.created == 1
    lead = in_schema(acme, lambda: Lead.objects.get())
    assert (lead.name, lead.phone, lead.company) == ("=1+1", "+6591234567", "-Dash Ltd")


# --- Files that cannot be read to the end ------------------------------------------------------


def many_rows(count: int) -> str:
    return "".join(f"Person {n},person{n}@example.sg,Company {n}\n" for n in range(count))


def refused(tenant, user, content: bytes) -> str:
    """Upload `content`; assert it is refused on the form and nothing is kept; the message."""
    response = upload(client_for(tenant, user), content)
    assert response.status_code == 200
    assert response.context["form"].errors["file"], response.content.decode()[:2000]
    assert in_schema(tenant, LeadImport.objects.count) == 0
    return response.context["form"].errors["file"][0]


def test_a_cell_longer_than_the_csv_limit_is_refused_at_upload(acme, owner, settings):
    content = f'Name,Email,Notes\nTan,tan@example.sg,"{"x" * 140_000}"\n'.encode()
    message = refused(acme, owner, content)
    assert "The row that starts on line 2 has a cell longer than 131,072 characters" in message
    assert not list(settings.MEDIA_ROOT.rglob("*.csv"))  # the refused file is not kept


def test_a_quote_never_closed_is_refused_with_its_line(acme, owner):
    content = f'Name,Email,Company\n{many_rows(10)}Tan,"tan@example.sg,Lion\n{many_rows(5000)}'
    message = refused(acme, owner, content.encode())
    assert "starts on line 12" in message and "quote mark" in message


def test_a_nul_byte_after_the_first_64_kb_is_refused_at_upload(acme, owner):
    content = f"Name,Email,Company\n{many_rows(4000)}Bad\x00Row,bad@example.sg,X\n".encode()
    assert content.index(b"\x00") > 64 * 1024
    message = refused(acme, owner, content)
    assert "Line 4,002 contains a NUL character" in message


def test_a_header_of_tens_of_thousands_of_columns_is_refused(acme, owner):
    header = ",".join(f"Column {n}" for n in range(32_000))  # longer than the 64 KB sample
    message = refused(acme, owner, f"Name,Email,{header}\nTan,tan@example.sg\n".encode())
    assert f"Line 1 has 32,002 columns; a file can have at most {MAX_COLUMNS}" in message


def test_a_row_of_too_many_columns_is_refused(acme, owner):
    content = f"Name,Email\nTan,tan@example.sg\nLim,{',' * 500}\n".encode()
    assert "Line 3 has 502 columns" in refused(acme, owner, content)


def test_bytes_that_are_not_utf8_after_a_utf8_start_are_refused(acme, owner):
    content = "Name,Email,Company\nJosé Tan,jose@example.sg,Café\n".encode() + (
        f"{many_rows(3000)}Bad,bad@example.sg,Cr\xe8me\n".encode("cp1252")
    )
    message = refused(acme, owner, content)
    assert "Line 3,003 has characters we cannot read" in message
    assert "CSV UTF-8" in message


def test_excel_csv_whose_first_64_kb_are_plain_ascii(acme, owner):
    """Excel's Windows-1252, with the first accent on row 3,002: read as Windows-1252."""
    content = f"Name,Email,Company\n{many_rows(3000)}José Tan,jose@example.sg,Crème\n".encode(
        "cp1252"
    )
    lead_import, _ = run(acme, owner, content)
    assert (lead_import.status, lead_import.created) == ("done", 3001)
    jose = in_schema(acme, lambda: Lead.objects.get(email="jose@example.sg"))
    assert (jose.name, jose.company) == ("José Tan", "Crème")


def test_bytes_that_are_neither_utf8_nor_windows_1252_are_refused(acme, owner):
    content = b"Name;Email\r\nJos\xe9;jose@example.sg\r\nBad\x81;bad@example.sg\r\n"
    assert "Line 3 has characters we cannot read" in refused(acme, owner, content)


# --- Every import ends -------------------------------------------------------------------------


def stored_import(tenant, user, content: bytes, **fields) -> LeadImport:
    """A LeadImport with its file as it is stored, queued: as a file that passed an older
    upload check, or broke on the disk, reaches the task."""
    with schema_context(tenant.schema_name):
        lead_import = LeadImport(
            **{
                "created_by": user,
                "original_name": "leads.csv",
                "headers": ["Name", "Email", "Company"],
                "mapping": {"0": "name", "1": "email", "2": "company"},
                "status": LeadImport.Status.QUEUED,
                **fields,
            }
        )
        lead_import.file.save(f"{lead_import.pk}.csv", ContentFile(content), save=False)
        lead_import.save()
    return lead_import


def run_task(tenant, lead_import) -> LeadImport:
    """The task as the worker runs it (through survives_reconnect); the import afterwards."""
    from tenants.tasks import run_in_schema

    run_in_schema(tenant.schema_name, "nexuscore.leads.imports.run_import", (str(lead_import.pk),))
    return in_schema(tenant, lambda: LeadImport.objects.get(pk=lead_import.pk))


def test_a_file_that_breaks_half_way_fails_the_import_with_the_reason(acme, owner):
    content = f"Name,Email,Company\n{many_rows(4000)}Bad\x00Row,bad@example.sg,X\n".encode()
    lead_import = stored_import(acme, owner, content)
    storage, name = lead_import.file.storage, lead_import.file.name
    failed = run_task(acme, lead_import)
    assert failed.status == "failed" and failed.finished_at
    assert "Line 4,002 contains a NUL character" in failed.error
    assert not failed.file and not storage.exists(name)  # deleted like a finished one's
    assert run_task(acme, lead_import).status == "failed"  # run again: still ended, no error
    page = client_for(acme, owner).get(f"/leads/import/{lead_import.pk}/")
    assert b"Line 4,002 contains a NUL character" in page.content
    assert b'hx-trigger="every 1s"' not in page.content  # the page stops polling
    with schema_context(acme.schema_name):
        assert Event.objects.get(event_type="leads.import_failed").actor == owner


def test_an_unexpected_error_fails_the_import_rather_than_leaving_it_running(acme, owner):
    """An error that would repeat on every run (here a mapping to a field leads no longer
    have) ends the import, with the rows imported before it counted."""
    blank_fax = "".join(f"Person {n},person{n}@example.sg,\n" for n in range(1000))
    with_fax = "".join(f"Later {n},later{n}@example.sg,6123 4567\n" for n in range(500))
    content = f"Name,Email,Fax\n{blank_fax}{with_fax}".encode()
    lead_import = stored_import(
        acme, owner, content, mapping={"0": "name", "1": "email", "2": "fax_number"}
    )
    failed = run_task(acme, lead_import)
    assert failed.status == "failed" and failed.finished_at
    assert "error we did not expect, after 1,000 rows" in failed.error
    assert "from row 1,002 on" in failed.error
    assert (failed.processed, failed.created) == (1000, 1000)
    assert in_schema(acme, Lead.objects.count) == 1000  # the first chunk stays imported
    assert not failed.file
    assert run_task(acme, lead_import).status == "failed"


def test_the_mapping_page_of_an_unreadable_upload_shows_the_reason(acme, owner):
    content = f'Name,Email,Company\nTan,tan@example.sg,"{"x" * 140_000}"\n'.encode()
    lead_import = stored_import(acme, owner, content, status=LeadImport.Status.UPLOADED)
    client = client_for(acme, owner)
    response = client.get(f"/leads/import/{lead_import.pk}/map/")
    assert response.status_code == 302
    assert response["Location"] == f"/leads/import/{lead_import.pk}/"
    page = client.get(response["Location"])
    assert b"has a cell longer than 131,072 characters" in page.content
    assert in_schema(acme, lambda: LeadImport.objects.get().status) == "failed"


def test_the_mapping_page_stays_small_with_long_column_names(acme, owner):
    header = ",".join(f"{n} {'long name ' * 1000}" for n in range(MAX_COLUMNS))
    row = ",".join("y" * 5000 for _ in range(MAX_COLUMNS))
    client = client_for(acme, owner)
    response = upload(client, f"{header}\n{row}\n".encode())
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert len(page.content) < 1_000_000


# --- A run that died: started again, or failed with the reason ------------------------------


def stalled_import(tenant, user, rows: int, processed: int, **fields) -> LeadImport:
    """An import left "running" by a run that died after `processed` rows (the worker's time
    limit, a killed worker), ten minutes ago."""
    content = f"Name,Email,Company\n{many_rows(rows)}".encode()
    lead_import = stored_import(tenant, user, content)
    ten_minutes_ago = timezone.now() - timedelta(minutes=10)
    in_schema(
        tenant,
        lambda: LeadImport.objects.filter(pk=lead_import.pk).update(
            status=LeadImport.Status.RUNNING,
            total=rows,
            processed=processed,
            progressed_at=ten_minutes_ago,
            **fields,
        ),
    )
    return lead_import


def test_an_import_whose_run_died_is_started_again_where_it_stopped(acme, owner):
    from nexuscore.leads.imports import resume_stalled_imports

    lead_import = stalled_import(acme, owner, rows=1500, processed=1000)
    assert resume_stalled_imports() == 1
    finished = in_schema(acme, lambda: LeadImport.objects.get(pk=lead_import.pk))
    assert finished.status == "done"
    assert finished.processed == 1500 and finished.created == 500  # only the rows left


def test_an_import_that_stalls_again_and_again_is_failed_with_the_reason(acme, owner):
    from nexuscore.leads.imports import MAX_RESUMES, resume_stalled_imports

    lead_import = stalled_import(acme, owner, rows=1500, processed=1000, resumes=MAX_RESUMES)
    storage, name = lead_import.file.storage, lead_import.file.name
    resume_stalled_imports()
    failed = in_schema(acme, lambda: LeadImport.objects.get(pk=lead_import.pk))
    assert failed.status == "failed" and failed.finished_at
    assert "stopped 4 times without getting further, after 1,000 rows" in failed.error
    assert "from row 1,002 on" in failed.error
    assert not failed.file and not storage.exists(name)


def test_a_running_import_that_is_making_progress_is_left_alone(acme, owner):
    from nexuscore.leads.imports import resume_stalled_imports

    lead_import = stalled_import(acme, owner, rows=1500, processed=1000)
    in_schema(
        acme,
        lambda: LeadImport.objects.filter(pk=lead_import.pk).update(progressed_at=timezone.now()),
    )
    assert resume_stalled_imports() == 0
    assert in_schema(acme, lambda: LeadImport.objects.get(pk=lead_import.pk).status) == "running"

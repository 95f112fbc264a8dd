"""Stored files on both backends: the local disk, and a private bucket on a local S3-compatible
server that these tests start (moto's server mode). The same paths run on each: an invoice PDF,
a CSV import with its report of rejected rows, a privacy access export. Each lands under its
organisation's prefix in the configured backend, only that organisation's pages hand it out,
and with a bucket nothing is written to the local disk. Then `move_files_to_bucket`, and the
settings that choose the backend."""

import io
import runpy
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import parse_qs, urlsplit
from urllib.request import urlopen

import boto3
import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context
from moto.server import ThreadedMotoServer

from nexuscore.billing.models import Invoice
from nexuscore.billing.pdf import open_invoice_pdf, store_invoice_pdf
from nexuscore.leads.models import LeadImport
from nexuscore.lib.storage import SIGNED_URL_SECONDS
from nexuscore.privacy.models import DSARRequest
from tests.conftest import client_for, in_schema, upload
from tests.fixtures_privacy import ANN, file_and_confirm, link_in

REGION = "ap-southeast-1"
AWS_VARIABLES = [
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_REGION_NAME",
    "AWS_S3_ENDPOINT_URL",
    "AWS_LOCATION",
    "AWS_DEFAULT_ACL",
]


def settings_with(monkeypatch, **variables) -> dict:
    """nexuscore/settings.py as it reads with these AWS variables (and no others) set."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(Path(django_settings.BASE_DIR) / "nexuscore" / "settings.py"))


@pytest.fixture(scope="session")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class Disk:
    """The local backend: MEDIA_ROOT/<schema>/<name>."""

    def __init__(self, root: Path):
        self.root = root

    def stored(self) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in _files(self.root))

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()


class Bucket:
    """The bucket backend, read with boto3 as an operator would see it."""

    def __init__(self, client, name: str):
        self.client, self.name = client, name

    def stored(self) -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()


def _files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def _bucket_storage(monkeypatch, settings, endpoint: str, **variables) -> Bucket:
    """A fresh bucket on the local server, and the default storage pointed at it by the
    production settings themselves."""
    name = f"nexuscore-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    configured = settings_with(
        monkeypatch, AWS_STORAGE_BUCKET_NAME=name, AWS_S3_ENDPOINT_URL=endpoint, **variables
    )
    client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    settings.STORAGES = {**settings.STORAGES, "default": configured["STORAGES"]["default"]}
    return Bucket(client, name)


@pytest.fixture(params=["disk", "bucket"])
def backend(request, settings, tmp_path, monkeypatch):
    """Each test below runs once with files on the local disk and once with them in a bucket;
    MEDIA_ROOT is this test's own folder either way."""
    settings.MEDIA_ROOT = tmp_path / "media"
    if request.param == "disk":
        default = {"BACKEND": "django_tenants.files.storage.TenantFileSystemStorage"}
        settings.STORAGES = {**settings.STORAGES, "default": default}
        yield Disk(settings.MEDIA_ROOT)
        return
    bucket = _bucket_storage(monkeypatch, settings, request.getfixturevalue("s3_endpoint"))
    yield bucket
    # With a bucket configured, nothing was written to the local disk.
    assert _files(settings.MEDIA_ROOT) == []


def _issued_invoice(tenant) -> Invoice:
    invoice = Invoice.objects.create(
        tenant=tenant,
        subtotal_cents=14900,
        line_items=[{"description": "NexusCore Growth, monthly", "amount_cents": 14900}],
    )
    invoice.refresh_from_db()
    return invoice.finalise()


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


# --- Invoice PDFs -----------------------------------------------------------------------------


def test_an_invoice_pdf_is_kept_under_its_organisation(backend, acme, globex, owner, outsider):
    invoice = _issued_invoice(acme)
    store_invoice_pdf(invoice)  # as the webhook task does, in the public schema
    invoice.refresh_from_db()
    key = f"acme/invoices/{invoice.number}.pdf"
    assert backend.stored() == [key]
    assert backend.read(key).startswith(b"%PDF")
    # The paid-invoice email reads it back from a task in the public schema.
    with open_invoice_pdf(invoice) as pdf:
        assert pdf.read() == backend.read(key)
    # Streamed by the view, after its permission check, on the organisation's host only.
    response = client_for(acme, owner).get(f"/invoices/{invoice.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert _body(response) == backend.read(key)
    assert client_for(globex, outsider).get(f"/invoices/{invoice.pk}/pdf/").status_code == 404
    assert client_for(acme).get(f"/invoices/{invoice.pk}/pdf/").status_code == 302


def test_a_pdf_stored_before_the_move_is_still_served(backend, acme, owner):
    """PDFs from before they were kept under the organisation's prefix are named
    invoices/<tenant id>/... under the public one."""
    invoice = _issued_invoice(acme)
    with schema_context("public"):
        invoice.pdf.save(f"{acme.pk}/{invoice.number}.pdf", ContentFile(b"%PDF-old"))
    assert backend.stored() == [f"public/invoices/{acme.pk}/{invoice.number}.pdf"]
    response = client_for(acme, owner).get(f"/invoices/{invoice.pk}/pdf/")
    assert _body(response) == b"%PDF-old"


# --- CSV imports and their reports ------------------------------------------------------------

CSV = b"Name,Email\nTan Wei Ling,weiling@lioncity.sg\nBad Email,not-an-email\n"


def test_an_import_and_its_report_are_kept_under_the_organisation(
    backend, acme, globex, owner, outsider
):
    client = client_for(acme, owner)
    response = upload(client, CSV)
    assert response.status_code == 302
    lead_import = in_schema(acme, lambda: LeadImport.objects.get())
    assert backend.stored() == [f"acme/imports/{lead_import.pk}.csv"]
    assert backend.read(f"acme/imports/{lead_import.pk}.csv") == CSV
    # Map the columns and let the task run (inline in the tests): the upload goes, the report
    # of the rejected row stays.
    map_url = response["Location"]
    form = client.get(map_url).context["form"]
    done = client.post(map_url, {n: f.initial or "" for n, f in form.fields.items()})
    assert done.status_code == 302
    assert backend.stored() == [f"acme/imports/{lead_import.pk}-rejected.csv"]
    report = client.get(f"/leads/import/{lead_import.pk}/report/")
    assert report.status_code == 200
    text = _body(report).decode("utf-8-sig")
    assert "not-an-email" in text and "weiling" not in text
    other = client_for(globex, outsider).get(f"/leads/import/{lead_import.pk}/report/")
    assert other.status_code == 404


# --- Privacy access exports -------------------------------------------------------------------


def test_an_access_export_is_kept_under_the_organisation(backend, acme, globex, ann_and_joann):
    file_and_confirm(acme, ANN, "access")
    dsar = in_schema(acme, lambda: DSARRequest.objects.get())
    key = f"acme/privacy/exports/{dsar.pk}.zip"
    assert backend.stored() == [key]
    ready = next(m for m in mail.outbox if m.to == [ANN] and "ready" in m.subject)
    download = link_in(ready, "/privacy/download/")
    assert client_for(globex).get(download).status_code == 404
    response = client_for(acme).get(download)
    if isinstance(backend, Disk):
        assert response.status_code == 200
        content = _body(response)
    else:
        # The view checked the link, then sends the browser to the bucket for a few minutes.
        assert response.status_code == 302
        url = response["Location"]
        assert url.startswith(default_storage.endpoint_url)
        query = parse_qs(urlsplit(url).query)
        assert query["X-Amz-Signature"] and query["X-Amz-Expires"] == [str(SIGNED_URL_SECONDS)]
        signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")
        assert abs((datetime.now(UTC).replace(tzinfo=None) - signed_at).total_seconds()) < 60
        with urlopen(url) as fetched:
            assert fetched.headers["Content-Disposition"].startswith("attachment")
            assert fetched.headers["Content-Type"] == "application/zip"
            content = fetched.read()
        # The object itself is private: without the signature the bucket refuses it.
        with pytest.raises(HTTPError) as refused:
            urlopen(url.split("?")[0])
        assert refused.value.code == 403
    assert content == backend.read(key)
    assert "data.json" in zipfile.ZipFile(io.BytesIO(content)).namelist()


# --- Moving local files into the bucket -------------------------------------------------------


def test_move_files_to_bucket(settings, tmp_path, monkeypatch, s3_endpoint):
    settings.MEDIA_ROOT = tmp_path / "media"
    files = {
        "acme/imports/a.csv": b"Name\nAnn\n",
        "acme/privacy/exports/b.zip": b"PK-zip",
        "globex/invoices/INV-000001.pdf": b"%PDF-1",
    }
    for name, content in files.items():
        (settings.MEDIA_ROOT / name).parent.mkdir(parents=True, exist_ok=True)
        (settings.MEDIA_ROOT / name).write_bytes(content)
    bucket = _bucket_storage(monkeypatch, settings, s3_endpoint, AWS_LOCATION="nexuscore")

    out = io.StringIO()
    call_command("move_files_to_bucket", dry_run=True, stdout=out)
    assert "Would move 3 file(s)" in out.getvalue()
    assert bucket.stored() == [] and len(_files(settings.MEDIA_ROOT)) == 3

    out = io.StringIO()
    call_command("move_files_to_bucket", stdout=out)
    assert "Moved acme/imports/a.csv to nexuscore/acme/imports/a.csv (9 bytes)." in out.getvalue()
    assert "Moved 3 file(s), 21 bytes" in out.getvalue()
    assert {key: bucket.read(key) for key in bucket.stored()} == {
        f"nexuscore/{name}": content for name, content in files.items()
    }
    assert _files(settings.MEDIA_ROOT) == []
    # The storage reads them where the pages will look for them.
    with schema_context("globex"):
        assert default_storage.open("invoices/INV-000001.pdf").read() == b"%PDF-1"

    out = io.StringIO()
    call_command("move_files_to_bucket", stdout=out)
    assert "Nothing to move" in out.getvalue()
    assert len(bucket.stored()) == 3

    # A run stopped between the upload and the deletion: the copy is there, the local file goes.
    (settings.MEDIA_ROOT / "acme/imports/a.csv").write_bytes(b"Name\nAnn\n")
    out = io.StringIO()
    call_command("move_files_to_bucket", stdout=out)
    assert "Already in the bucket: nexuscore/acme/imports/a.csv" in out.getvalue()
    assert "Moved 0 file(s)" in out.getvalue()
    assert _files(settings.MEDIA_ROOT) == [] and len(bucket.stored()) == 3


def test_move_files_to_bucket_needs_a_bucket(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "a.csv").write_bytes(b"x")
    with pytest.raises(CommandError, match="AWS_STORAGE_BUCKET_NAME"):
        call_command("move_files_to_bucket")
    assert (tmp_path / "acme" / "a.csv").exists()


# --- Settings ---------------------------------------------------------------------------------


def test_with_no_bucket_files_stay_on_the_local_disk(monkeypatch):
    configured = settings_with(monkeypatch)
    backend = configured["STORAGES"]["default"]["BACKEND"]
    assert backend == "django_tenants.files.storage.TenantFileSystemStorage"
    assert configured["MEDIA_ROOT"] == configured["DATA_DIR"] / "media"


def test_a_bucket_is_private_and_in_singapore_by_default(monkeypatch):
    default = settings_with(monkeypatch, AWS_STORAGE_BUCKET_NAME="files")["STORAGES"]["default"]
    assert default["BACKEND"] == "nexuscore.lib.storage.OrganisationS3Storage"
    options = default["OPTIONS"]
    assert options["bucket_name"] == "files"
    assert options["region_name"] == REGION
    assert options["endpoint_url"] is None
    assert options["querystring_auth"] is True
    assert options["querystring_expire"] == SIGNED_URL_SECONDS  # any URL it signs is short-lived
    assert options["default_acl"] is None  # objects private: the bucket's own ACL, none public

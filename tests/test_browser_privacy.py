"""A person in a real browser asks acme for their data: fills in the form, follows the link in
the email, confirms, watches the status and downloads the archive."""

import email
import io
import zipfile
from pathlib import Path

import pytest
from django_tenants.utils import schema_context

from nexuscore.leads.models import Lead
from nexuscore.privacy.models import DSARRequest
from tests.browser import ARTIFACTS, serve_test_database

pytestmark = pytest.mark.browser  # no django_db: gunicorn must see committed rows

PERSON = "browser.privacy@example.sg"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("privacy-site")


@pytest.fixture(scope="module")
def privacy_site(django_db_setup, data_dir):
    """The site on the test database with tasks run inline and its outbox and media in a
    temporary folder, so the test can read the email."""
    with serve_test_database(Q_SYNC="1", NEXUSCORE_DATA_DIR=str(data_dir)) as port:
        yield port


@pytest.fixture
def known_person(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), schema_context("acme"):
        lead = Lead.objects.create(name="Browser Privacy Person", email=PERSON)
    yield lead
    with django_db_blocker.unblock(), schema_context("acme"):
        for request in DSARRequest.objects.filter(email=PERSON):
            request.export_file.delete(save=False)
            request.delete()
        Lead.objects.filter(pk=lead.pk).delete()


def _link(data_dir: Path, prefix: str) -> str:
    for path in sorted((data_dir / "outbox").glob("*.eml"), reverse=True):
        message = email.message_from_bytes(path.read_bytes())
        body = message.get_payload(decode=True).decode()
        if message["To"] == PERSON and prefix in body:
            joined = body.replace("=\n", "")
            start = joined.index("http", joined.index(prefix) - 60)
            return joined[start:].split()[0]
    raise AssertionError(f"no email to {PERSON} with {prefix}")


def test_file_confirm_and_download(known_person, privacy_site, data_dir, browser):
    base = f"http://acme.localhost:{privacy_site}"
    page = browser.new_page()
    page.goto(f"{base}/privacy/request/")
    page.fill('input[name="email"]', PERSON)
    page.check('input[name="request_type"][value="access"]')
    page.click('form button[type="submit"]')
    page.wait_for_url(f"{base}/privacy/request/sent/")

    link = _link(data_dir, "/privacy/request/")
    page.goto(link.replace("http://acme.localhost:8000", base))
    page.click("text=Confirm my request")
    page.locator("text=Download your data").wait_for()
    page.screenshot(path=ARTIFACTS / "privacy-request-status.png", full_page=True)
    with page.expect_download() as download:
        page.click("text=Download your data")
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert "Browser Privacy Person" in archive.read("data.json").decode()

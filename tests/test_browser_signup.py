"""A new customer in a real browser: from the home page through sign-up, email verification and
creating an organisation, to its dashboard on its own host. Drives Debian's Chromium through
Playwright against gunicorn serving the test database, with a mail outbox of its own.
"""

import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from playwright.sync_api import expect

from nexuscore.accounts.models import User
from tenants.models import Tenant
from tenants.schemas import fill_schema_pool
from tests.browser import ARTIFACTS, serve_test_database

# django_db: without a test that asks for the database, pytest-django builds no test database
# and the seeding and gunicorn would use the development one.
pytestmark = [pytest.mark.browser, pytest.mark.django_db]

EMAIL = "nina@limbrothers.test"
PASSWORD = "a-long-unusual-passphrase-42"
NAME = "Lim Brothers Engineering Pte. Ltd."
SLUG = "limbros-sg"


@pytest.fixture(scope="module")
def signup_site(django_db_setup, django_db_blocker, tmp_path_factory):
    """gunicorn on a free port and the test database; its mail goes to a fresh outbox.

    NEXUSCORE_DATA_DIR would also hold an embedded database, but DATABASE_URL points the
    server at the test database instead. What the browser creates is committed, so it is
    removed afterwards and the schema pool topped up again for the tests that follow.
    """
    data_dir = tmp_path_factory.mktemp("signup-data")
    try:
        with serve_test_database(NEXUSCORE_DATA_DIR=str(data_dir)) as port:
            yield port, data_dir / "outbox"
    finally:
        with django_db_blocker.unblock():
            for tenant in Tenant.objects.filter(schema_name=SLUG):
                tenant.delete(force_drop=True)
            User.objects.filter(email=EMAIL).delete()
            fill_schema_pool(2)


def _confirmation_link(outbox: Path, port: int) -> str:
    """The verification link of the one message in the outbox."""
    messages = sorted(outbox.glob("*.eml"))
    assert len(messages) == 1, messages
    message = message_from_bytes(messages[0].read_bytes(), policy=policy.default)
    assert message["To"] == EMAIL
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(rf"http://localhost:{port}/accounts/confirm-email/\S+/", body).group(0)


def test_from_the_home_page_to_a_new_organisations_dashboard(signup_site, browser):
    port, outbox = signup_site
    public = f"http://localhost:{port}"
    page = browser.new_page()

    page.goto(f"{public}/")
    page.get_by_role("link", name="Start free trial").first.click()
    page.wait_for_url(f"{public}/accounts/signup/**")
    page.fill('input[name="email"]', EMAIL)
    page.fill('input[name="password1"]', PASSWORD)
    page.fill('input[name="password2"]', PASSWORD)
    page.fill('input[name="name"]', "Nina Lim")
    page.screenshot(path=ARTIFACTS / "signup-account.png", full_page=True)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{public}/accounts/confirm-email/")

    page.goto(_confirmation_link(outbox, port))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()
    if not page.url.startswith(f"{public}/signup/"):
        # Confirming signs the person in. Until allauth's adapter sends a new person straight
        # to /signup/, they get there from the home page and their (empty) organisations.
        page.goto(f"{public}/")
        page.get_by_role("link", name="Your organisations").first.click()
        page.get_by_role("link", name="Create an organisation").click()
    page.wait_for_url(f"{public}/signup/")

    # Typing the name suggests a subdomain; the person types their own and sees it is free.
    page.fill("#id_name", NAME)
    expect(page.locator("#id_slug")).to_have_value("lim-brothers-engineering")
    page.fill("#id_slug", SLUG)
    address = f"{SLUG}.localhost:{port}"
    expect(page.locator("#slug-status")).to_contain_text(f"Your address will be {address}")
    page.fill("#id_uen", "2024-00003r")
    expect(page.locator("#uen-status")).to_contain_text("A valid UEN")
    expect(page.locator("#id_billing_email")).to_have_value(EMAIL)
    expect(page.locator('input[name="plan"][value="growth-month"]')).to_be_checked()
    page.screenshot(path=ARTIFACTS / "signup-organisation.png", full_page=True)
    page.get_by_role("button", name="Create organisation").click()

    page.wait_for_url(f"http://{SLUG}.localhost:{port}/")
    expect(page.locator("body")).to_contain_text(NAME)
    expect(page.locator("body")).to_contain_text("Your trial of Growth ends in")
    page.screenshot(path=ARTIFACTS / "signup-dashboard.png", full_page=True)

"""A person in a real browser works the leads list: searches as they type (the address follows),
filters, changes a status inline, and sees the change persist after reloading."""

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from nexuscore.leads.models import Lead
from tests.browser import ARTIFACTS, PASSWORD

pytestmark = pytest.mark.browser  # no django_db: its leads must be committed for gunicorn to see


@pytest.fixture
def browser_leads(django_db_setup, django_db_blocker):
    """Leads committed to the test database (gunicorn cannot see a test's transaction), removed
    afterwards."""
    with django_db_blocker.unblock(), schema_context("acme"):
        leads = Lead.objects.bulk_create(
            [
                Lead(name="Browser Tan Wei Ling", email="bt@example.sg", status="new"),
                Lead(name="Browser Rajesh Kumar", email="br@example.sg", status="contacted"),
                Lead(name="Someone Unrelated", email="su@example.sg", status="new"),
            ]
        )
    yield leads
    with django_db_blocker.unblock(), schema_context("acme"):
        Lead.objects.filter(pk__in=[lead.pk for lead in leads]).delete()


# browser_leads comes first so that it is torn down after the browser: the ORM refuses to run
# while Playwright's event loop is alive in this thread.
def test_filter_and_change_a_status_inline(browser_leads, site, browser):
    base = f"http://acme.localhost:{site}"
    page = browser.new_page()
    page.goto(f"{base}/accounts/login/?next=/leads/")
    page.fill('input[name="login"]', "member@acme.test")
    page.fill('input[name="password"]', PASSWORD)
    page.click('form button[type="submit"]')
    page.wait_for_url(f"{base}/leads/")

    # Search as you type: the results and the address follow without a page load.
    page.fill("#lead-q", "browser")
    page.wait_for_url(f"{base}/leads/?*q=browser*")
    rows = page.locator("#lead-results tbody tr")
    expect(rows).to_have_count(2)
    assert "Someone Unrelated" not in page.inner_text("#lead-results")

    # A filter narrows further.
    page.select_option("#lead-status", "new")
    expect(rows).to_have_count(1)
    assert "status=new" in page.url
    assert "Browser Tan Wei Ling" in page.inner_text("#lead-results")

    # Change the status inline: the status opens its editor in place, a choice saves it, and the
    # row is replaced with the saved state.
    tan = browser_leads[0]
    page.click(f"#lead-{tan.pk} a[href$='/status/']")
    editor = page.locator(f"#lead-{tan.pk} select[name=status]")
    editor.wait_for()
    # A person reads the choices first; the test waits until htmx has settled the new form.
    expect(
        page.locator(f"#lead-{tan.pk} .htmx-added, #lead-{tan.pk} .htmx-settling")
    ).to_have_count(0)
    with page.expect_response(lambda response: response.request.method == "POST"):
        editor.select_option("qualified")
    expect(page.locator(f"#lead-{tan.pk} a[href$='/status/']")).to_have_text("Qualified")
    page.screenshot(path=ARTIFACTS / "leads-inline-status.png", full_page=True)

    # It persists: reload the filtered address the browser kept.
    page.goto(f"{base}/leads/?q=browser")
    expect(page.locator(f"#lead-{tan.pk} a[href$='/status/']")).to_have_text("Qualified")

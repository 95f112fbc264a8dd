"""An owner upgrades in a real browser: the billing page, the plan button, and the redirect to
Stripe Checkout (which the page's Content-Security-Policy must allow). gunicorn serves the test
database with Stripe pointed at the local fake; the browser's request to checkout.stripe.com is
answered by Playwright, so nothing leaves the machine. Screenshots go to test-artifacts/.
"""

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from playwright.sync_api import expect

from tests.browser import ARTIFACTS, serve_test_database, sign_in
from tests.fixtures_billing import FakeStripe

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def _committed(statement: str, *params) -> None:
    """Run SQL on a connection of its own, outside the test's transaction, so gunicorn sees it."""
    outside = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with outside.cursor() as cursor:
            cursor.execute(statement, params)
    finally:
        outside.close()


@pytest.fixture
def stripe_site(django_db_setup):
    """gunicorn with Stripe configured against a fake, and Growth priced (committed, then put
    back as it was, with what the checkout stored)."""
    fake = FakeStripe()
    price = "UPDATE billing_plan SET stripe_price_id = %s WHERE sku = 'growth-month'"
    _committed(price, "price_test_growth_month")
    env = {"STRIPE_SECRET_KEY": "sk_test_nexuscore", "STRIPE_API_BASE": fake.url}
    try:
        with serve_test_database(**env) as port:
            yield port, fake
    finally:
        fake.stop()
        _committed(price, "")
        _committed(
            "UPDATE billing_subscription SET stripe_customer_id = '' WHERE tenant_id ="
            " (SELECT id FROM tenants_tenant WHERE schema_name = 'acme')"
        )
        _committed("DELETE FROM billing_idempotencyrecord WHERE key LIKE 'acme:%%'")


def test_an_owner_goes_from_the_billing_page_to_stripe_checkout(stripe_site, browser):
    port, fake = stripe_site
    page = browser.new_page()
    page.goto(f"http://localhost:{port}/accounts/login/")
    sign_in(page, "owner@acme.test")
    page.wait_for_url(f"http://localhost:{port}/accounts/organisations/")
    page.click('a[href="/accounts/organisations/acme/open/"]')
    page.wait_for_url(f"http://acme.localhost:{port}/")

    page.click('nav a[href="/billing/"]')
    page.wait_for_url(f"http://acme.localhost:{port}/billing/")
    expect(page.get_by_role("heading", name="Your plan")).to_be_visible()
    expect(page.get_by_text("Billing is not configured")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "billing.png", full_page=True)

    page.route(
        "https://checkout.stripe.com/**",
        lambda route: route.fulfill(
            status=200, content_type="text/html", body="<h1>Stripe Checkout (fake)</h1>"
        ),
    )
    page.locator('form:has(input[value="growth-month"]) button').click()
    page.wait_for_url("https://checkout.stripe.com/c/pay/cs_test_*")
    expect(page.get_by_role("heading", name="Stripe Checkout (fake)")).to_be_visible()
    (session,) = fake.calls("/v1/checkout/sessions")
    assert session["params"]["line_items[0][price]"] == "price_test_growth_month"
    assert (
        session["params"]["success_url"] == f"http://acme.localhost:{port}/billing/?checkout=done"
    )

    page.goto(f"http://acme.localhost:{port}/billing/?checkout=done")
    expect(page.get_by_text("your plan is active as soon as Stripe confirms")).to_be_visible()
    page.goto(f"http://acme.localhost:{port}/invoices/")
    expect(page.get_by_role("heading", name="Invoices", level=1)).to_be_visible()
    page.screenshot(path=ARTIFACTS / "invoices.png", full_page=True)

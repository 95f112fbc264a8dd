"""An owner upgrades in a real browser: the billing page, the plan button, and the redirect to
Stripe Checkout (which the page's Content-Security-Policy must allow); then the whole paid cycle,
from a trial to a paying customer with a tax invoice to download. gunicorn serves the test
database with Stripe pointed at the local fake; the browser's request to checkout.stripe.com is
answered by Playwright, and the test sends the signed webhooks Stripe would send after payment,
so nothing leaves the machine. Screenshots go to test-artifacts/.
"""

import http.client
import json
from email import message_from_bytes, policy

import pytest
from allauth.account.models import EmailAddress
from django.db import DEFAULT_DB_ALIAS, connections
from playwright.sync_api import expect

from nexuscore.accounts.models import User
from nexuscore.billing.models import IdempotencyRecord, Invoice, Plan, WebhookEvent
from nexuscore.onboarding.provisioning import provision_tenant
from tenants.schemas import fill_schema_pool
from tests.browser import ARTIFACTS, serve_test_database, sign_in
from tests.fixtures_billing import (
    WEBHOOK_SECRET,
    FakeStripe,
    checkout_object,
    invoice_object,
    signature,
    stripe_event,
    subscription_object,
)

# No django_db mark: what gunicorn must see is committed by the fixtures (a test transaction
# would hide it) and removed afterwards.
pytestmark = [pytest.mark.browser]


def _committed(statement: str, *params) -> None:
    """Run SQL on a connection of its own, outside the test's transaction, so gunicorn sees it."""
    outside = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with outside.cursor() as cursor:
            cursor.execute(statement, params)
    finally:
        outside.close()


@pytest.fixture
def stripe_site(django_db_setup, django_db_blocker, tmp_path):
    """gunicorn with Stripe configured against a fake (tasks run inline, files and mail in a
    folder of the test's), and Growth priced (committed, then put back as it was, with what the
    checkout stored)."""
    fake = FakeStripe()
    price = "UPDATE billing_plan SET stripe_price_id = %s WHERE sku = 'growth-month'"
    with django_db_blocker.unblock():
        _committed(price, "price_test_growth_month")
    env = {
        "STRIPE_SECRET_KEY": "sk_test_nexuscore",
        "STRIPE_API_BASE": fake.url,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "Q_SYNC": "1",
        "NEXUSCORE_DATA_DIR": str(tmp_path),
    }
    try:
        with serve_test_database(**env) as port:
            yield port, fake, tmp_path
    finally:
        fake.stop()
        with django_db_blocker.unblock():
            _committed(price, "")
            _committed(
                "UPDATE billing_subscription SET stripe_customer_id = '' WHERE tenant_id ="
                " (SELECT id FROM tenants_tenant WHERE schema_name = 'acme')"
            )
            _committed("DELETE FROM billing_idempotencyrecord WHERE key LIKE 'acme:%%'")


@pytest.fixture
def new_customer(django_db_setup, django_db_blocker):
    """A new organisation on a Growth trial and its owner, committed for gunicorn to see; it,
    its invoices and its schema are removed afterwards."""
    with django_db_blocker.unblock():
        owner = User.objects.create_user(email=OWNER, password=PASSWORD, name="Pay Journey")
        EmailAddress.objects.create(user=owner, email=OWNER, verified=True, primary=True)
        tenant = provision_tenant(
            name="Journey Pay Pte. Ltd.",
            slug="journeypay",
            owner=owner,
            plan=Plan.objects.get(sku="growth-month"),
            uen="201912345R",
            billing_email=OWNER,
        )
    yield tenant
    with django_db_blocker.unblock():
        Invoice.objects.filter(tenant=tenant).delete()
        WebhookEvent.objects.filter(event_id__startswith="evt_journey").delete()
        IdempotencyRecord.objects.filter(key__startswith="journeypay:").delete()
        tenant.delete(force_drop=True)
        owner.delete()
        fill_schema_pool(2)


def test_an_owner_goes_from_the_billing_page_to_stripe_checkout(stripe_site, browser):
    port, fake, _ = stripe_site
    page = browser.new_page()
    page.goto(f"http://localhost:{port}/accounts/login/")
    sign_in(page, "owner@acme.test")
    page.wait_for_url(f"http://localhost:{port}/accounts/organisations/")
    page.get_by_role("link", name="Open Acme Trading").click()
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


OWNER = "pay.journey@example.sg"
PASSWORD = "a-long-journey-passphrase-7"


def _as_stripe(port: int, event: dict) -> None:
    """POST a signed event to the webhook, as Stripe does after a payment."""
    body = json.dumps(event).encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {
        "Host": f"localhost:{port}",
        "Content-Type": "application/json",
        "Stripe-Signature": signature(body),
    }
    connection.request("POST", "/webhooks/stripe/", body=body, headers=headers)
    response = connection.getresponse()
    assert response.status == 200, (event["type"], response.read())
    connection.close()


def test_a_trial_becomes_a_paying_customer_with_a_tax_invoice(new_customer, stripe_site, browser):
    # The organisation first: the database can't be used once Playwright's event loop runs.
    customer_org = new_customer
    port, fake, data_dir = stripe_site
    organisation = f"http://journeypay.localhost:{port}"
    page = browser.new_page()
    page.goto(f"{organisation}/accounts/login/")
    sign_in(page, OWNER, PASSWORD)
    page.wait_for_url(f"{organisation}/")
    expect(page.locator("body")).to_contain_text("Your trial of Growth ends in")

    page.goto(f"{organisation}/billing/")
    page.route(
        "https://checkout.stripe.com/**",
        lambda route: route.fulfill(
            status=200, content_type="text/html", body="<h1>Stripe Checkout (fake)</h1>"
        ),
    )
    page.locator('form:has(input[value="growth-month"]) button').click()
    page.wait_for_url("https://checkout.stripe.com/c/pay/cs_test_*")
    (session,) = fake.calls("/v1/checkout/sessions")
    customer = session["params"]["customer"]

    # The person pays; Stripe tells NexusCore, in its own order, and sends them back.
    ids = {"id": "sub_journey", "customer": customer}
    paid = invoice_object(
        customer_org, id="in_journey", status="paid", subscription="sub_journey", customer=customer
    )
    for event_type, data_object in [
        ("customer.subscription.created", subscription_object(customer_org, **ids)),
        ("invoice.finalized", {**paid, "status": "open"}),
        (
            "checkout.session.completed",
            checkout_object(customer_org, subscription="sub_journey", customer=customer),
        ),
        ("invoice.paid", paid),
    ]:
        event_id = "evt_journey_" + event_type.replace(".", "_")
        _as_stripe(port, stripe_event(event_type, data_object, event_id=event_id))
    page.goto(f"{organisation}/billing/?checkout=done")
    expect(page.locator("main")).to_contain_text("Active")
    expect(page.locator("body")).not_to_contain_text("Your trial of Growth ends in")
    page.screenshot(path=ARTIFACTS / "billing-paid.png", full_page=True)

    page.goto(f"{organisation}/invoices/")
    row = page.locator("tr", has_text="162.41")  # S$149.00 and 9 % GST
    expect(row).to_contain_text("Paid")
    page.screenshot(path=ARTIFACTS / "invoices-paid.png", full_page=True)
    row.get_by_role("link").first.click()
    expect(page.locator("body")).to_contain_text("Tax invoice")
    page.screenshot(path=ARTIFACTS / "invoice-paid.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the PDF").click()
    assert download.value.suggested_filename.endswith(".pdf")

    # The billing contact got the tax invoice by email, the PDF attached.
    messages = [
        message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted((data_dir / "outbox").glob("*.eml"))
    ]
    (invoice_mail,) = [m for m in messages if "invoice" in m["Subject"].lower()]
    attachments = [part.get_filename() for part in invoice_mail.iter_attachments()]
    assert any(name.endswith(".pdf") for name in attachments)

"""The billing page, Checkout and the Customer Portal (Stripe faked at the HTTP boundary), and
the invoices pages: every role, the wrong method, another organisation's invoice."""

import socket

import pytest

from nexuscore.billing.models import IdempotencyRecord, Invoice, Plan, Subscription
from nexuscore.billing.pdf import store_invoice_pdf
from tests.conftest import client_for

KEY = "a" * 32


@pytest.fixture(autouse=True)
def _media(billing_media):
    pass


@pytest.fixture
def priced(db):
    Plan.objects.filter(sku="growth-month").update(stripe_price_id="price_test_growth_month")
    Plan.objects.filter(sku="scale-month").update(stripe_price_id="price_test_scale_month")


def issued_invoice(tenant, subtotal=14900, pdf=True) -> Invoice:
    invoice = Invoice.objects.create(
        tenant=tenant,
        subtotal_cents=subtotal,
        line_items=[{"description": "NexusCore Growth, monthly", "amount_cents": subtotal}],
    )
    invoice.finalise()
    invoice.refresh_from_db()
    if pdf:
        store_invoice_pdf(invoice)
        invoice.refresh_from_db()
    return invoice


def person(request, role):
    return None if role == "anonymous" else request.getfixturevalue(role)


# ---- Who sees what -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("owner", 200),
        ("admin", 200),
        ("member", 403),
        ("viewer", 403),
        ("outsider", 403),
        ("anonymous", 302),
    ],
)
def test_billing_page_by_role(request, acme, role, status):
    response = client_for(acme, person(request, role)).get("/billing/")
    assert response.status_code == status
    if role == "anonymous":
        assert response["Location"].startswith("/accounts/login/")


def test_owners_choose_plans_admins_only_look(acme, owner, admin, priced, fake_stripe):
    owner_page = client_for(acme, owner).get("/billing/").content.decode()
    assert "Growth" in owner_page and "Trial" in owner_page
    assert 'action="/billing/checkout/"' in owner_page
    assert 'href="/usage/"' in owner_page
    admin_page = client_for(acme, admin).get("/billing/").content.decode()
    assert "Growth" in admin_page
    assert 'action="/billing/checkout/"' not in admin_page
    assert (
        client_for(acme, admin).post("/billing/checkout/", {"plan": "growth-month"}).status_code
        == 403
    )


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("owner", 200),
        ("admin", 200),
        ("member", 200),
        ("viewer", 200),
        ("outsider", 403),
        ("anonymous", 302),
    ],
)
def test_invoices_by_role(request, acme, role, status):
    invoice = issued_invoice(acme)
    client = client_for(acme, person(request, role))
    listing = client.get("/invoices/")
    detail = client.get(f"/invoices/{invoice.pk}/")
    pdf = client.get(f"/invoices/{invoice.pk}/pdf/")
    assert (listing.status_code, detail.status_code, pdf.status_code) == (status,) * 3
    if status == 200:
        assert invoice.number in listing.content.decode()
        page = detail.content.decode()
        assert "Tax invoice " + invoice.number in page
        assert "149.00" in page and "13.41" in page and "162.41" in page
        assert pdf["Content-Type"] == "application/pdf"
        assert f'filename="{invoice.number}.pdf"' in pdf["Content-Disposition"]
        assert b"".join(pdf.streaming_content).startswith(b"%PDF")


def test_another_organisations_invoice_is_not_found(acme, globex, owner):
    theirs = issued_invoice(globex)
    client = client_for(acme, owner)
    assert client.get(f"/invoices/{theirs.pk}/").status_code == 404
    assert client.get(f"/invoices/{theirs.pk}/pdf/").status_code == 404
    assert theirs.number not in client.get("/invoices/").content.decode()


def test_drafts_are_not_shown(acme, owner):
    draft = Invoice.objects.create(tenant=acme, subtotal_cents=100)
    assert client_for(acme, owner).get(f"/invoices/{draft.pk}/").status_code == 404


def test_a_credit_note_reads_as_one(acme, owner):
    invoice = issued_invoice(acme)
    note = Invoice.objects.create(
        tenant=acme,
        kind=Invoice.Kind.CREDIT_NOTE,
        credit_note_for=invoice,
        subtotal_cents=-5000,
        line_items=[{"description": "Refund", "amount_cents": -5000}],
    )
    note.finalise()
    page = client_for(acme, owner).get("/invoices/").content.decode()
    assert note.number in page and "-54.50" in page
    detail = client_for(acme, owner).get(f"/invoices/{note.pk}/").content.decode()
    assert f"Credit note {note.number}" in detail and invoice.number in detail


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/billing/"),
        ("get", "/billing/checkout/"),
        ("get", "/billing/portal/"),
        ("post", "/invoices/"),
    ],
)
def test_wrong_method(acme, owner, method, path):
    assert getattr(client_for(acme, owner), method)(path).status_code == 405


def test_the_nav_leads_each_role_to_its_page(acme, owner, viewer):
    assert 'href="/billing/"' in client_for(acme, owner).get("/").content.decode()
    viewer_page = client_for(acme, viewer).get("/").content.decode()
    assert 'href="/invoices/"' in viewer_page and 'href="/billing/"' not in viewer_page


# ---- Not configured ------------------------------------------------------------------------


def test_without_stripe_keys_billing_says_so_and_nothing_breaks(acme, owner, settings, priced):
    settings.STRIPE_SECRET_KEY = ""
    client = client_for(acme, owner)
    page = client.get("/billing/").content.decode()
    assert "Billing is not configured" in page
    for path in ("/billing/checkout/", "/billing/portal/"):
        response = client.post(path, {"plan": "growth-month", "idempotency_key": KEY})
        assert (response.status_code, response["Location"]) == (302, "/billing/")
        assert "Billing is not configured" in client.get("/billing/").content.decode()
    assert not IdempotencyRecord.objects.exists()


# ---- Checkout and portal through the fake Stripe -------------------------------------------


def test_checkout_creates_a_customer_and_a_session_and_sends_the_owner_there(
    acme, owner, priced, fake_stripe
):
    response = client_for(acme, owner).post(
        "/billing/checkout/", {"plan": "growth-month", "idempotency_key": KEY}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")

    (customer,) = fake_stripe.calls("/v1/customers")
    assert customer["params"]["name"] == "Acme Trading Pte. Ltd."
    assert customer["params"]["email"] == "accounts@acme.test"
    assert customer["params"]["metadata[tenant_id]"] == str(acme.pk)
    assert customer["idempotency_key"] == f"nexuscore-customer-{acme.pk}"
    assert customer["authorization"] == "Bearer sk_test_nexuscore"
    assert customer["stripe_version"] == "2026-10-28.endive"

    (session,) = fake_stripe.calls("/v1/checkout/sessions")
    params = session["params"]
    assert params["mode"] == "subscription"
    assert params["line_items[0][price]"] == "price_test_growth_month"
    assert params["client_reference_id"] == str(acme.pk)
    assert params["metadata[tenant_id]"] == str(acme.pk)
    assert params["subscription_data[metadata][tenant_id]"] == str(acme.pk)
    assert params["customer"] == "cus_test_1"
    assert params["success_url"] == "http://acme.localhost/billing/?checkout=done"
    assert params["cancel_url"] == "http://acme.localhost/billing/?checkout=cancelled"
    assert session["idempotency_key"] == f"nexuscore-checkout-{acme.pk}-{KEY}"
    assert Subscription.objects.live().get(tenant=acme).stripe_customer_id == "cus_test_1"


def test_the_same_checkout_twice_opens_one_session(acme, owner, priced, fake_stripe):
    client = client_for(acme, owner)
    data = {"plan": "growth-month", "idempotency_key": KEY}
    first, second = client.post("/billing/checkout/", data), client.post("/billing/checkout/", data)
    assert first["Location"] == second["Location"]
    assert second["Idempotent-Replayed"] == "true"
    assert len(fake_stripe.calls("/v1/checkout/sessions")) == 1


def test_the_same_key_for_another_plan_is_a_conflict(acme, owner, priced, fake_stripe):
    client = client_for(acme, owner)
    client.post("/billing/checkout/", {"plan": "growth-month", "idempotency_key": KEY})
    response = client.post("/billing/checkout/", {"plan": "scale-month", "idempotency_key": KEY})
    assert response.status_code == 409
    assert "already sent once, with different details" in response.content.decode()
    assert len(fake_stripe.calls("/v1/checkout/sessions")) == 1


def test_a_stripe_hiccup_is_retried_with_the_same_key(acme, owner, priced, fake_stripe):
    fake_stripe.fail_next = 1  # the first call (creating the customer) gets a 500
    response = client_for(acme, owner).post(
        "/billing/checkout/", {"plan": "growth-month", "idempotency_key": KEY}
    )
    assert response.status_code == 302
    first, retry = fake_stripe.calls("/v1/customers")
    assert first["idempotency_key"] == retry["idempotency_key"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_stripe_out_of_reach_is_a_clear_message_and_can_be_tried_again(
    acme, owner, priced, fake_stripe, settings
):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{_closed_port()}"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    client = client_for(acme, owner)
    data = {"plan": "growth-month", "idempotency_key": KEY}
    response = client.post("/billing/checkout/", data)
    assert response.status_code == 503
    assert "could not reach Stripe" in response.content.decode()
    assert not IdempotencyRecord.objects.exists()  # not kept: trying again really tries

    settings.STRIPE_API_BASE = fake_stripe.url
    assert client.post("/billing/checkout/", data).status_code == 302


def test_an_unknown_plan_is_refused_politely(acme, owner, priced, fake_stripe):
    response = client_for(acme, owner).post("/billing/checkout/", {"plan": "gold-forever"})
    assert (response.status_code, response["Location"]) == (302, "/billing/")
    assert not fake_stripe.requests


def test_the_portal_opens_for_a_paying_owner(acme, owner, admin, fake_stripe):
    Subscription.objects.live().filter(tenant=acme).update(
        stripe_customer_id="cus_test_acme", stripe_subscription_id="sub_test_acme", status="active"
    )
    page = client_for(acme, owner).get("/billing/").content.decode()
    assert 'action="/billing/portal/"' in page
    response = client_for(acme, owner).post("/billing/portal/", {"idempotency_key": KEY})
    assert response.status_code == 302
    assert response["Location"].startswith("https://billing.stripe.com/p/session/")
    (call,) = fake_stripe.calls("/v1/billing_portal/sessions")
    assert call["params"] == {
        "customer": "cus_test_acme",
        "return_url": "http://acme.localhost/billing/",
    }
    assert client_for(acme, admin).post("/billing/portal/").status_code == 403


def test_no_portal_before_a_plan_is_paid(acme, owner, fake_stripe):
    response = client_for(acme, owner).post("/billing/portal/")
    assert (response.status_code, response["Location"]) == (302, "/billing/")
    assert not fake_stripe.requests


def test_the_billing_page_shows_the_next_invoice_and_recent_ones(acme, owner):
    from datetime import timedelta

    from django.utils import timezone

    Subscription.objects.live().filter(tenant=acme).update(
        status="active", current_period_end=timezone.now() + timedelta(days=10)
    )
    invoice = issued_invoice(acme)
    page = client_for(acme, owner).get("/billing/").content.decode()
    assert "S$162.41 on" in page  # Growth, monthly, with 9 % GST
    assert invoice.number in page

"""Staff admin: revenue per month and the GST summary per quarter, on screen and as CSV; the
billing lists with their filters."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from nexuscore.billing.models import Invoice, TaxCode
from tests.conftest import client_for


def issue(tenant, subtotal, at, *, kind=Invoice.Kind.INVOICE, tax_code=TaxCode.SR, **fields):
    rate = Decimal("0") if tax_code == TaxCode.ZR else Decimal("0.09")
    invoice = Invoice.objects.create(
        tenant=tenant,
        subtotal_cents=subtotal,
        kind=kind,
        tax_code=tax_code,
        gst_rate=rate,
        **fields,
    )
    invoice.finalise(now=at)
    return invoice


@pytest.fixture
def invoices(acme, globex):
    issue(acme, 14900, datetime(2026, 1, 15, 4, tzinfo=UTC))
    issue(globex, 4900, datetime(2026, 2, 10, 4, tzinfo=UTC), tax_code=TaxCode.ZR)
    # 20:00 UTC on 31 March is 04:00 on 1 April in Singapore: April, second quarter.
    paid = issue(acme, 14900, datetime(2026, 3, 31, 20, tzinfo=UTC))
    Invoice.objects.filter(pk=paid.pk).update(status="paid", amount_paid_cents=16241)
    issue(
        acme,
        -5000,
        datetime(2026, 4, 20, 4, tzinfo=UTC),
        kind=Invoice.Kind.CREDIT_NOTE,
        credit_note_for=paid,
    )
    void = issue(acme, 99900, datetime(2026, 4, 21, 4, tzinfo=UTC))
    Invoice.objects.filter(pk=void.pk).update(status="void")
    Invoice.objects.create(tenant=acme, subtotal_cents=77700)  # a draft


def rows(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_revenue_per_month(staff_with_mfa, invoices):
    client = client_for(None, staff_with_mfa)
    page = client.get("/admin/billing/invoice/revenue/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "<svg" in content and "Jan 2026" in content and "Apr 2026" in content
    assert rows(client.get("/admin/billing/invoice/revenue.csv")) == [
        ["month", "before_gst_sgd", "gst_sgd", "total_sgd", "collected_sgd"],
        ["2026-01", "149.00", "13.41", "162.41", "0.00"],
        ["2026-02", "49.00", "0.00", "49.00", "0.00"],
        ["2026-04", "99.00", "8.91", "107.91", "162.41"],  # 149.00 less the 50.00 credit note
    ]


def test_gst_summary_per_quarter(staff_with_mfa, invoices):
    client = client_for(None, staff_with_mfa)
    assert rows(client.get("/admin/billing/invoice/gst.csv")) == [
        [
            "quarter",
            "standard_rated_supplies_sgd",
            "zero_rated_supplies_sgd",
            "exempt_supplies_sgd",
            "output_tax_sgd",
        ],
        ["2026 Q2", "99.00", "0.00", "0.00", "8.91"],
        ["2026 Q1", "149.00", "49.00", "0.00", "13.41"],
    ]
    page = client.get("/admin/billing/invoice/revenue/").content.decode()
    assert "2026 Q1" in page and "Output tax (box 6)" in page


def test_the_invoice_list_links_to_the_figures(staff_with_mfa, invoices):
    page = client_for(None, staff_with_mfa).get("/admin/billing/invoice/").content.decode()
    assert 'href="/admin/billing/invoice/revenue/"' in page


@pytest.mark.parametrize(
    "path", ["/admin/billing/invoice/revenue/", "/admin/billing/invoice/gst.csv"]
)
def test_only_staff_see_the_figures(owner, path):
    assert client_for(None, owner).get(path).status_code == 302
    assert client_for(None).get(path).status_code == 302


def test_staff_lists(staff_with_mfa, invoices):
    client = client_for(None, staff_with_mfa)
    for path in (
        "/admin/billing/subscription/?status__exact=trialing",
        "/admin/billing/invoice/?status__exact=paid",
        "/admin/billing/webhookevent/?status__exact=failed",
        "/admin/billing/idempotencyrecord/",
    ):
        assert client.get(path).status_code == 200, path


def test_the_csv_keeps_negative_amounts_as_numbers(staff_with_mfa, acme):
    """The CSVs go through the writer that neutralises formulas (nexuscore.lib.csv); a month
    with only a credit note still shows -50.00 as a number a spreadsheet adds up, not as text."""
    paid = issue(acme, 14900, datetime(2026, 1, 15, 4, tzinfo=UTC))
    issue(
        acme,
        -5000,
        datetime(2026, 2, 20, 4, tzinfo=UTC),
        kind=Invoice.Kind.CREDIT_NOTE,
        credit_note_for=paid,
    )
    client = client_for(None, staff_with_mfa)
    revenue = rows(client.get("/admin/billing/invoice/revenue.csv"))
    assert revenue[2] == ["2026-02", "-50.00", "-4.50", "-54.50", "0.00"]
    gst = rows(client.get("/admin/billing/invoice/gst.csv"))
    assert gst[1] == ["2026 Q1", "99.00", "0.00", "0.00", "8.91"]

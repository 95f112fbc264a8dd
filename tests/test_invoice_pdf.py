"""The tax invoice PDF carries everything IRAS requires, read back from the PDF itself."""

import io

import pytest
from pypdf import PdfReader

from nexuscore.billing.models import Invoice
from nexuscore.billing.pdf import PdfError, open_invoice_pdf, render_invoice_pdf, store_invoice_pdf


def _issued(tenant, subtotal=14900, **fields):
    invoice = Invoice.objects.create(
        tenant=tenant,
        subtotal_cents=subtotal,
        line_items=[
            {
                "description": "NexusCore Growth, monthly, 25 Nov to 24 Dec 2026",
                "amount_cents": subtotal,
            }
        ],
        **fields,
    )
    invoice.refresh_from_db()
    return invoice.finalise()


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_the_pdf_has_every_field_a_tax_invoice_needs(acme):
    invoice = _issued(acme)
    text = _text(render_invoice_pdf(invoice))
    for expected in [
        "Tax Invoice",
        "NexusCore Pte. Ltd.",  # supplier's name
        "1 Marina Boulevard",  # supplier's address
        "GST Reg. No. 201912345R",  # supplier's GST registration number
        f"No. {invoice.number}",
        invoice.issued_at.strftime("%Y").strip(),  # the date
        "Acme Trading Pte. Ltd.",  # customer's name
        "1 Raffles Place",  # customer's address
        "UEN 202301234G",  # customer's UEN
        "NexusCore Growth, monthly",  # the line's description
        "Total before GST (SGD) 149.00",
        "GST at 9% (tax code SR) (SGD) 13.41",
        "Total with GST (SGD) 162.41",
    ]:
        assert expected in text, expected


def test_a_credit_note_says_so_and_names_the_invoice(acme):
    invoice = _issued(acme)
    note = _issued(acme, -14900, kind=Invoice.Kind.CREDIT_NOTE, credit_note_for=invoice)
    text = _text(render_invoice_pdf(note))
    assert "Credit Note" in text and "Tax Invoice" not in text.replace("tax invoice", "")
    assert f"Credits tax invoice {invoice.number}" in text
    assert "-162.41" in text


def test_the_pdf_is_stored_once(acme, billing_media):
    invoice = _issued(acme)
    store_invoice_pdf(invoice)
    invoice.refresh_from_db()
    first = invoice.pdf.name
    assert first.endswith(f"{invoice.number}.pdf")
    store_invoice_pdf(invoice)
    invoice.refresh_from_db()
    assert invoice.pdf.name == first
    assert open_invoice_pdf(invoice).read().startswith(b"%PDF")


def test_a_draft_has_no_tax_invoice(acme):
    draft = Invoice.objects.create(tenant=acme, subtotal_cents=100)
    with pytest.raises(PdfError):
        store_invoice_pdf(draft)


def test_the_renderer_fetches_nothing_a_customer_names(acme):
    """A name that is markup pointing at a local file or an address stays text."""
    acme.name = '<img src="file:///etc/passwd"><img src="http://127.0.0.1:1/x">Acme'
    acme.save()
    invoice = _issued(acme)
    text = _text(render_invoice_pdf(invoice))
    assert "root:" not in text
    assert "&lt;img" in text or "<img" in text  # escaped, shown as text

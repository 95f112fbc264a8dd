"""Tax invoice and credit note PDFs, rendered with xhtml2pdf and stored once per invoice.

The renderer may fetch nothing: no network, no local files (the policy denies both), so an
invoice's text (a customer's name, say) can never make it read a file or call an address.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_tenants.utils import schema_context
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

NOTHING_TO_FETCH = ResourceAccessPolicy.server(base_dir=None, allow_remote=False)


class PdfError(Exception):
    pass


def dollars(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def render_invoice_pdf(invoice) -> bytes:
    """The invoice as a one-page PDF: everything IRAS asks of a tax invoice."""
    tenant = invoice.tenant
    context = {
        "invoice": invoice,
        "tenant": tenant,
        "address": tenant.billing_address or {},
        "lines": [
            {
                "description": line.get("description", ""),
                "amount": dollars(line.get("amount_cents", 0)),
            }
            for line in invoice.line_items
        ],
        "subtotal": dollars(invoice.subtotal_cents),
        "gst": dollars(invoice.gst_amount_cents),
        "total": dollars(invoice.total_cents),
        "gst_percent": (invoice.gst_rate * 100).normalize(),
        "issued": timezone.localtime(invoice.issued_at or timezone.now()),
        "seller": {
            "name": settings.NEXUSCORE_LEGAL_NAME,
            "address": settings.NEXUSCORE_ADDRESS,
            "uen": settings.NEXUSCORE_UEN,
            "gst_number": settings.NEXUSCORE_GST_NUMBER,
        },
    }
    html = render_to_string("pdf/invoice.html", context)
    output = pisa.CreatePDF(html, dest=None, resource_policy=NOTHING_TO_FETCH)
    if output.err:
        raise PdfError(f"could not render {invoice}")
    return output.dest.getvalue()


def pdf_schema(invoice) -> str:
    """The schema whose storage prefix holds the invoice's PDF (the storage picks the prefix by
    the active schema): the organisation's own. PDFs stored before they moved there are named
    `invoices/<tenant id>/...` and stay under the public schema's prefix."""
    if invoice.pdf.name.startswith(f"invoices/{invoice.tenant_id}/"):
        return "public"
    return invoice.tenant.schema_name


def open_invoice_pdf(invoice):
    """The stored PDF, opened for reading, whatever host or task asks."""
    with schema_context(pdf_schema(invoice)):
        return invoice.pdf.open("rb")


def store_invoice_pdf(invoice) -> None:
    """Render and keep the PDF of an issued invoice, once (a second call changes nothing)."""
    if invoice.status == invoice.Status.DRAFT:
        raise PdfError("a draft has no tax invoice yet")
    with transaction.atomic(), schema_context("public"):
        invoice = type(invoice).objects.select_for_update().get(pk=invoice.pk)
        if invoice.pdf:
            return
        content = ContentFile(render_invoice_pdf(invoice))
        with schema_context(invoice.tenant.schema_name):
            invoice.pdf.save(f"{invoice.number}.pdf", content, save=False)
        invoice.save(update_fields=["pdf", "updated_at"])

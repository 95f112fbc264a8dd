"""Figures for NexusCore's staff: revenue per month and the GST summary per quarter.

Both count issued tax invoices and credit notes (not drafts, not voided ones), by the date they
were issued in Singapore time, in SGD cents. A credit note counts, negatively, in the period it
was issued, as IRAS asks for the GST return.

GST summary per quarter, the boxes of the GST F5 return NexusCore's invoices feed:
- standard-rated supplies (box 1) and their output tax (box 6): invoices coded SR;
- zero-rated supplies (box 2): invoices coded ZR;
- exempt supplies (box 3): ES33 and ESN33 (NexusCore makes none today).
"""

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce, TruncMonth, TruncQuarter

from nexuscore.billing.models import Invoice

SINGAPORE = ZoneInfo("Asia/Singapore")


def _issued():
    return Invoice.objects.exclude(status__in=[Invoice.Status.DRAFT, Invoice.Status.VOID]).filter(
        issued_at__isnull=False
    )


@dataclass(frozen=True)
class MonthRevenue:
    month: date
    before_gst_cents: int
    gst_cents: int
    total_cents: int
    collected_cents: int

    @property
    def label(self) -> str:
        return self.month.strftime("%b %Y")


def revenue_per_month(months: int = 12) -> list[MonthRevenue]:
    """The last `months` months with any invoice, oldest first."""
    rows = (
        _issued()
        .annotate(month=TruncMonth("issued_at", tzinfo=SINGAPORE))
        .values("month")
        .annotate(
            before_gst=Sum("subtotal_cents"),
            gst=Sum("gst_amount_cents"),
            total=Sum("total_cents"),
            collected=Coalesce(Sum("amount_paid_cents", filter=Q(status=Invoice.Status.PAID)), 0),
        )
        .order_by("-month")[:months]
    )
    return [
        MonthRevenue(
            row["month"].date(), row["before_gst"], row["gst"], row["total"], row["collected"]
        )
        for row in reversed(list(rows))
    ]


@dataclass(frozen=True)
class QuarterGst:
    quarter: date
    standard_rated_cents: int
    output_tax_cents: int
    zero_rated_cents: int
    exempt_cents: int

    @property
    def label(self) -> str:
        return f"{self.quarter.year} Q{(self.quarter.month - 1) // 3 + 1}"


def gst_per_quarter() -> list[QuarterGst]:
    """Every quarter with any invoice, newest first."""
    rows = (
        _issued()
        .annotate(quarter=TruncQuarter("issued_at", tzinfo=SINGAPORE))
        .values("quarter")
        .annotate(
            standard=Coalesce(Sum("subtotal_cents", filter=Q(tax_code="SR")), 0),
            output_tax=Coalesce(Sum("gst_amount_cents", filter=Q(tax_code="SR")), 0),
            zero=Coalesce(Sum("subtotal_cents", filter=Q(tax_code="ZR")), 0),
            exempt=Coalesce(Sum("subtotal_cents", filter=Q(tax_code__in=["ES33", "ESN33"])), 0),
        )
        .order_by("-quarter")
    )
    return [
        QuarterGst(
            row["quarter"].date(), row["standard"], row["output_tax"], row["zero"], row["exempt"]
        )
        for row in rows
    ]

"""Time rendering a one-page tax invoice PDF (goal: at most 100 ms).

Run by `python -m bench` with DATABASE_URL pointing at the bench database; prints its
JSON lines to stdout. The first render of a process (about half a second, loading fonts and
reportlab) is reported on its own line.
"""
# ruff: noqa: E402  (Django is set up before the models are imported)

import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexuscore.settings")
django.setup()

from bench.report import median, metric, p95
from nexuscore.billing.models import Invoice
from nexuscore.billing.pdf import render_invoice_pdf
from tenants.models import Tenant

RENDERS = 20
GOAL_MS = 100


def finalised_invoice(tenant) -> Invoice:
    """A one-line tax invoice of `tenant`'s, numbered and issued (bench/leads.py uses it too)."""
    invoice = Invoice.objects.create(
        tenant=tenant,
        subtotal_cents=14900,
        line_items=[{"description": "NexusCore Growth, monthly", "amount_cents": 14900}],
    )
    invoice.refresh_from_db()
    invoice.finalise()
    return invoice


def main() -> None:
    invoice = finalised_invoice(Tenant.objects.get(schema_name="acme"))
    timings = []
    for _ in range(RENDERS + 1):
        started = time.perf_counter()
        render_invoice_pdf(invoice)
        timings.append((time.perf_counter() - started) * 1000)
    metric("invoice_pdf_first_render_ms", round(timings[0], 1), "ms")
    metric(
        "invoice_pdf_render_median_ms",
        round(median(timings[1:]), 1),
        "ms",
        at_most=GOAL_MS,
        p95=round(p95(timings[1:]), 1),
        samples=RENDERS,
    )


if __name__ == "__main__":
    main()

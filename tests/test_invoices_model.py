"""Invoices: GST computed by the database, half up to the cent; IRAS sales tax codes; numbers
without gaps, even under concurrency; the organisation's own invoices only."""

import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from nexuscore.billing.models import Invoice, InvoiceSequence, TaxCode, tax_treatment
from tenants.models import Tenant


def _invoice(tenant, subtotal, **fields):
    invoice = Invoice.objects.create(tenant=tenant, subtotal_cents=subtotal, **fields)
    invoice.refresh_from_db()  # the generated columns come from the database
    return invoice


@pytest.mark.parametrize(
    ("subtotal", "gst", "total"),
    [
        (0, 0, 0),
        (1, 0, 1),  # 0.09 cents
        (5, 0, 5),  # 0.45
        (6, 1, 7),  # 0.54
        (50, 5, 55),  # 4.5: exactly half a cent rounds up
        (150, 14, 164),  # 13.5
        (250, 23, 273),  # 22.5
        (4900, 441, 5341),  # Starter, monthly
        (14900, 1341, 16241),  # Growth, monthly
        (149000, 13410, 162410),  # Growth, yearly
        (1111, 100, 1211),  # 99.99
        (12345678, 1111111, 13456789),  # 1,111,111.02
    ],
)
def test_gst_is_rounded_half_up_to_the_cent(acme, subtotal, gst, total):
    invoice = _invoice(acme, subtotal)
    assert (invoice.gst_amount_cents, invoice.total_cents) == (gst, total)


def test_zero_rated_invoices_carry_no_gst(acme):
    invoice = _invoice(acme, 14900, tax_code=TaxCode.ZR, gst_rate=Decimal("0"))
    assert (invoice.gst_amount_cents, invoice.total_cents) == (0, 14900)


def test_credit_notes_round_symmetrically(acme):
    note = _invoice(acme, -50, kind=Invoice.Kind.CREDIT_NOTE)
    assert (note.gst_amount_cents, note.total_cents) == (-5, -55)


@pytest.mark.parametrize("code", ["TX", "XX", ""])
def test_purchase_and_unknown_tax_codes_are_refused_by_the_database(acme, code):
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(tenant=acme, subtotal_cents=100, tax_code=code)


def test_an_invoice_cannot_be_negative_nor_a_credit_note_positive(acme):
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(tenant=acme, subtotal_cents=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(tenant=acme, subtotal_cents=1, kind=Invoice.Kind.CREDIT_NOTE)


def test_an_issued_invoice_must_have_a_number(acme):
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(tenant=acme, subtotal_cents=100, status=Invoice.Status.OPEN)


def test_finalising_numbers_each_series_in_order(acme, globex):
    start = InvoiceSequence.objects.filter(prefix="INV").values_list("last_value", flat=True)
    start = start.first() or 0
    first = _invoice(acme, 4900).finalise()
    second = _invoice(globex, 4900).finalise()
    note = _invoice(acme, -4900, kind=Invoice.Kind.CREDIT_NOTE, credit_note_for=first).finalise()
    assert first.number == f"INV-{start + 1:06d}"
    assert second.number == f"INV-{start + 2:06d}"
    assert note.number.startswith("CN-")
    assert (first.status, first.issued_at is not None) == ("open", True)
    with pytest.raises(ValueError):
        first.finalise()


def test_a_rolled_back_finalisation_leaves_no_gap(acme):
    kept = _invoice(acme, 100)
    with pytest.raises(RuntimeError), transaction.atomic():
        _invoice(acme, 100).finalise()
        raise RuntimeError("the payment record failed")
    kept.finalise()
    numbers = list(Invoice.objects.exclude(number=None).values_list("number", flat=True))
    assert numbers == [kept.number]
    assert InvoiceSequence.objects.get(prefix="INV").last_value == int(kept.number[4:])


def test_tax_treatment_follows_where_the_customer_belongs(acme):
    assert tax_treatment(acme) == (TaxCode.SR, Decimal("0.09"))
    acme.billing_address = {"country": "MY"}
    assert tax_treatment(acme) == (TaxCode.ZR, Decimal("0"))
    acme.billing_address = {}
    assert tax_treatment(acme)[0] == TaxCode.SR


def test_each_organisation_sees_only_its_own_invoices(acme, globex):
    mine, theirs = _invoice(acme, 100), _invoice(globex, 100)
    assert list(Invoice.objects.for_tenant(acme)) == [mine]
    assert theirs not in Invoice.objects.for_tenant(acme)


def test_numbers_have_no_gaps_or_repeats_under_concurrency(django_db_setup, django_db_blocker):
    """Eight threads, each with its own connection, finalise 40 committed drafts at once (no
    `db` fixture: the drafts must be committed for the threads to see them)."""
    with django_db_blocker.unblock():
        acme = Tenant.objects.get(schema_name="acme")
        drafts = [Invoice.objects.create(tenant=acme, subtotal_cents=100) for _ in range(40)]
    start_line = threading.Barrier(8)
    batches = [drafts[index::8] for index in range(8)]

    def worker(batch):
        with django_db_blocker.unblock():
            start_line.wait()
            for draft in batch:
                draft.finalise()
            connection.close()

    threads = [threading.Thread(target=worker, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with django_db_blocker.unblock():
        numbers = sorted(
            int(number[4:])
            for number in Invoice.objects.filter(pk__in=[d.pk for d in drafts]).values_list(
                "number", flat=True
            )
        )
        Invoice.objects.filter(pk__in=[d.pk for d in drafts]).delete()
    assert numbers == list(range(numbers[0], numbers[0] + 40))


def test_staff_see_plans_subscriptions_and_read_only_invoices(staff_with_mfa, acme):
    from tests.conftest import client_for

    invoice = _invoice(acme, 4900).finalise()
    client = client_for(None, staff_with_mfa)
    for path in ("billing/plan/", "billing/subscription/", "billing/invoice/"):
        assert client.get(f"/admin/{path}").status_code == 200, path
    assert invoice.number.encode() in client.get("/admin/billing/invoice/").content
    assert client.get("/admin/billing/invoice/add/").status_code == 403

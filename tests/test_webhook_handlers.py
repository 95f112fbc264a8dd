"""Each Stripe event's handler, through the signed webhook: subscriptions, invoices (our numbers,
GST, PDF, email), refunds as credit notes; repeats and reverse order change nothing."""

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event
from nexuscore.billing.models import Invoice, Plan, Subscription, WebhookEvent
from nexuscore.billing.pdf import open_invoice_pdf
from nexuscore.billing.webhooks import process_webhook_event
from tests.conftest import client_for
from tests.fixtures_billing import (
    DAY,
    NOW,
    checkout_object,
    deliver,
    invoice_object,
    stripe_event,
    stripe_object,
    subscription_object,
)


@pytest.fixture(autouse=True)
def _billing(db, billing_media, webhook_secret):
    Plan.objects.filter(sku="growth-month").update(stripe_price_id="price_test_growth_month")
    Plan.objects.filter(sku="scale-month").update(stripe_price_id="price_test_scale_month")


def send(event_type, data_object, **kwargs):
    event = stripe_event(event_type, data_object, **kwargs)
    assert deliver(event).status_code == 200
    return WebhookEvent.objects.get(event_id=event["id"])


def live(tenant) -> Subscription:
    return Subscription.objects.live().get(tenant=tenant)


def events(tenant, event_type):
    with schema_context(tenant.schema_name):
        return list(Event.objects.filter(event_type=event_type))


def test_checkout_completed_links_the_trial_and_ends_it(acme):
    assert acme.trial_ends_at is not None
    stored = send("checkout.session.completed", checkout_object(acme))
    assert stored.status == WebhookEvent.Status.PROCESSED
    subscription = live(acme)
    assert subscription.stripe_subscription_id == "sub_test_acme"
    assert subscription.stripe_customer_id == "cus_test_acme"
    assert subscription.status == Subscription.Status.ACTIVE
    acme.refresh_from_db()
    assert acme.trial_ends_at is None  # the contract with the trial's read-only mode
    assert len(events(acme, "billing.checkout_completed")) == 1


def test_an_unpaid_checkout_links_but_keeps_the_trial(acme):
    send("checkout.session.completed", checkout_object(acme, paid=False))
    assert live(acme).stripe_subscription_id == "sub_test_acme"
    assert live(acme).status == Subscription.Status.TRIALING
    acme.refresh_from_db()
    assert acme.trial_ends_at is not None


def test_a_payment_mode_checkout_is_not_ours_to_link(acme):
    session = {**checkout_object(acme), "mode": "payment", "subscription": None}
    assert send("checkout.session.completed", session).status == WebhookEvent.Status.PROCESSED
    assert live(acme).stripe_subscription_id == ""


def test_subscription_created_updated_deleted(acme):
    send("customer.subscription.created", subscription_object(acme), created=NOW)
    subscription = live(acme)
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.plan.sku == "growth-month"
    # Since basil the period is on the subscription item.
    assert int(subscription.current_period_start.timestamp()) == NOW
    assert int(subscription.current_period_end.timestamp()) == NOW + 30 * DAY
    acme.refresh_from_db()
    assert acme.trial_ends_at is None

    upgraded = subscription_object(acme, price="price_test_scale_month", cancel_at_period_end=True)
    send("customer.subscription.updated", upgraded, created=NOW + 10)
    subscription.refresh_from_db()
    assert (subscription.plan.sku, subscription.cancel_at_period_end) == ("scale-month", True)

    gone = subscription_object(acme, status="canceled", canceled_at=NOW + 20)
    send("customer.subscription.deleted", gone, created=NOW + 20)
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELED
    assert int(subscription.canceled_at.timestamp()) == NOW + 20
    assert not Subscription.objects.live().filter(tenant=acme).exists()
    assert len(events(acme, "billing.subscription_deleted")) == 1


def test_a_cancelled_subscription_leaves_the_organisation_read_only_until_it_pays_again(
    acme, owner
):
    """Without a live subscription no plan's limits would apply: the organisation is read-only,
    with the billing page still open, until a plan is paid for again."""
    from tenants.middleware import forget_hosts

    send("customer.subscription.created", subscription_object(acme), created=NOW)
    gone = subscription_object(acme, status="canceled", canceled_at=NOW + 20)
    send("customer.subscription.deleted", gone, created=NOW + 20)
    acme.refresh_from_db()
    assert int(acme.subscription_ended_at.timestamp()) == NOW + 20
    forget_hosts()

    client = client_for(acme, owner)
    lead = {"name": "Tan Ah Kow", "email": "tan@example.sg", "status": "new", "source": "manual"}
    refused = client.post("/leads/new/", lead)
    assert refused.status_code == 403
    assert "read-only until a plan is chosen again" in refused.content.decode()
    page = client.get("/").content.decode()
    assert "The subscription has ended" in page
    assert client.post("/billing/checkout/", {"plan": "growth-month"}).status_code == 302

    again = subscription_object(acme, id="sub_test_acme_again")
    send("customer.subscription.created", again, created=NOW + 60)
    acme.refresh_from_db()
    assert acme.subscription_ended_at is None
    forget_hosts()
    assert client.post("/leads/new/", lead).status_code == 302


def test_subscription_events_in_reverse_order_end_on_the_latest(acme):
    deleted = subscription_object(acme, status="canceled", canceled_at=NOW + 20)
    updated = subscription_object(acme, status="past_due")
    created = subscription_object(acme)
    send("customer.subscription.updated", updated, created=NOW + 10)
    assert live(acme).status == Subscription.Status.PAST_DUE
    send("customer.subscription.deleted", deleted, created=NOW + 20)
    send("customer.subscription.created", created, created=NOW)  # oldest, arrives last
    send("customer.subscription.updated", updated, created=NOW + 10, event_id="evt_again")
    subscription = Subscription.objects.get(stripe_subscription_id="sub_test_acme")
    assert subscription.status == Subscription.Status.CANCELED
    assert Subscription.objects.filter(tenant=acme).count() == 1  # the trial row became it


def test_an_older_update_arriving_late_changes_nothing(acme):
    newer = subscription_object(acme, status="past_due", price="price_test_scale_month")
    send("customer.subscription.updated", newer, created=NOW + 10)
    send("customer.subscription.created", subscription_object(acme), created=NOW)
    subscription = live(acme)
    assert (subscription.status, subscription.plan.sku) == ("past_due", "scale-month")


def test_a_second_live_stripe_subscription_is_refused_for_a_person_to_look_at(acme, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    send("customer.subscription.created", subscription_object(acme), created=NOW)
    other = subscription_object(acme, id="sub_test_second")
    stored = send("customer.subscription.created", other, created=NOW + 5)
    assert stored.status == WebhookEvent.Status.FAILED
    assert "SubscriptionConflict" in stored.error
    assert live(acme).stripe_subscription_id == "sub_test_acme"


def test_invoice_finalized_issues_our_tax_invoice_with_its_pdf(acme):
    send("customer.subscription.created", subscription_object(acme), created=NOW)
    send("invoice.finalized", invoice_object(acme))
    invoice = Invoice.objects.get(stripe_invoice_id="in_test_1")
    assert invoice.tenant == acme
    assert invoice.subscription == live(acme)
    assert invoice.number.startswith("INV-")  # ours, not Stripe's
    assert invoice.metadata["stripe_number"] == "STRIPE-0001"
    assert (invoice.tax_code, invoice.subtotal_cents, invoice.gst_amount_cents) == (
        "SR",
        14900,
        1341,
    )
    assert invoice.total_cents == 16241
    assert invoice.status == Invoice.Status.OPEN
    assert invoice.line_items == [
        {"description": "NexusCore Growth (monthly)", "amount_cents": 14900}
    ]
    assert invoice.pdf.name.endswith(f"{invoice.number}.pdf")
    assert open_invoice_pdf(invoice).read().startswith(b"%PDF")


def test_a_customer_abroad_gets_a_zero_rated_invoice(acme):
    acme.billing_address = {**acme.billing_address, "country": "MY"}
    acme.save()
    send("invoice.finalized", invoice_object(acme))
    invoice = Invoice.objects.get(stripe_invoice_id="in_test_1")
    assert (invoice.tax_code, invoice.gst_amount_cents, invoice.total_cents) == ("ZR", 0, 14900)


def test_invoice_paid_marks_it_paid_and_emails_the_pdf_to_the_billing_contact(acme, mailoutbox):
    send("customer.subscription.created", subscription_object(acme), created=NOW)
    send("invoice.finalized", invoice_object(acme))
    paid = invoice_object(acme, status="paid")
    for _ in range(3):  # the same event three times
        send_same = stripe_event("invoice.paid", paid, event_id="evt_paid_once")
        assert deliver(send_same).status_code == 200
    send("invoice.paid", paid)  # and Stripe's second, separate notice of it
    invoice = Invoice.objects.get(stripe_invoice_id="in_test_1")
    assert invoice.status == Invoice.Status.PAID
    assert invoice.amount_paid_cents == 14900
    assert int(invoice.paid_at.timestamp()) == NOW
    assert Invoice.objects.filter(tenant=acme).count() == 1
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["accounts@acme.test"]
    assert invoice.number in mail.subject
    (name, content, mimetype) = mail.attachments[0]
    assert (name, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")
    assert len(events(acme, "billing.invoice_paid")) == 1


def test_invoice_events_in_reverse_order_leave_it_paid(acme, mailoutbox):
    send("invoice.paid", invoice_object(acme, status="paid"), created=NOW + 10)
    send("invoice.payment_failed", invoice_object(acme), created=NOW + 5)
    send("invoice.finalized", invoice_object(acme), created=NOW)
    invoice = Invoice.objects.get(stripe_invoice_id="in_test_1")
    assert invoice.status == Invoice.Status.PAID
    assert invoice.pdf
    acme.refresh_from_db()
    assert acme.payment_overdue_since is None  # the late failure notice changed nothing
    assert acme.trial_ends_at is None
    assert [m.subject for m in mailoutbox] == [
        f"Tax invoice {invoice.number} from NexusCore (paid)"
    ]
    # The subscription event comes last of all: the invoice is linked to it then.
    send("customer.subscription.created", subscription_object(acme), created=NOW - 5)
    send("invoice.paid", invoice_object(acme, status="paid"), created=NOW + 10)
    invoice.refresh_from_db()
    assert invoice.subscription == live(acme)


def test_invoice_voided_keeps_its_number_and_the_series_has_no_gap(acme):
    send("invoice.finalized", invoice_object(acme, id="in_test_1"))
    send("invoice.voided", invoice_object(acme, id="in_test_1", status="void"))
    send("invoice.voided", invoice_object(acme, id="in_test_2", status="void"))  # never finalized
    first, second = Invoice.objects.filter(tenant=acme).order_by("number")
    assert (first.status, second.status) == (Invoice.Status.VOID, Invoice.Status.VOID)
    assert int(second.number[4:]) == int(first.number[4:]) + 1
    send("invoice.paid", invoice_object(acme, id="in_test_1", status="paid"))
    first.refresh_from_db()
    assert first.status == Invoice.Status.VOID


def test_refunds_become_credit_notes_once(acme, fake_stripe):
    send("invoice.paid", invoice_object(acme, status="paid"))
    invoice = Invoice.objects.get(stripe_invoice_id="in_test_1")
    fake_stripe.invoice_for_payment_intent["pi_test_1"] = "in_test_1"
    charge = stripe_object(
        "charge", id="ch_test_1", payment_intent="pi_test_1", amount=16241, refunded=False
    )

    send("charge.refunded", {**charge, "amount_refunded": 5450}, created=NOW)  # a partial one
    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert note.number.startswith("CN-")
    assert note.credit_note_for == invoice
    assert (note.subtotal_cents, note.gst_amount_cents, note.total_cents) == (-5000, -450, -5450)
    assert note.pdf

    full = {**charge, "amount_refunded": 16241, "refunded": True}
    send("charge.refunded", full, created=NOW + 10)
    send("charge.refunded", full, created=NOW + 10)  # delivered again under another id
    send("charge.refunded", {**charge, "amount_refunded": 5450}, created=NOW)  # a late, old one
    notes = Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE)
    assert notes.count() == 2
    assert sum(n.subtotal_cents for n in notes) == -14900  # the whole invoice, exactly
    assert sum(n.total_cents for n in notes) == -16241
    # Found through Stripe's invoice payments once, then remembered on the invoice.
    assert len(fake_stripe.calls("/v1/invoice_payments")) == 1
    assert len(events(acme, "billing.credit_note_issued")) == 2


def test_a_refund_before_its_invoice_is_known_waits(acme, fake_stripe):
    charge = stripe_object("charge", id="ch_x", payment_intent="pi_unknown", amount_refunded=100)
    stored = send("charge.refunded", charge)
    assert (stored.status, stored.attempts) == (WebhookEvent.Status.PENDING, 1)
    assert "NotYetKnown" in stored.error


def test_a_subscription_event_before_its_checkout_fails_then_succeeds_on_retry(acme):
    # No tenant id in its metadata (made outside our Checkout), and the customer is unknown.
    anonymous = subscription_object(acme, metadata={})
    stored = send("customer.subscription.updated", anonymous, created=NOW + 5)
    assert (stored.status, stored.attempts) == (WebhookEvent.Status.PENDING, 1)
    assert "NotYetKnown" in stored.error

    send("checkout.session.completed", checkout_object(acme))  # links the subscription
    assert process_webhook_event(str(stored.pk)) == WebhookEvent.Status.PROCESSED
    assert live(acme).current_period_end is not None
    assert int(live(acme).current_period_end.timestamp()) == NOW + 30 * DAY


def test_handlers_cover_the_events_the_issue_names():
    from nexuscore.billing.handlers import HANDLERS

    assert set(HANDLERS) >= {
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.trial_will_end",
        "invoice.paid",
        "invoice.payment_failed",
        "invoice.finalized",
        "invoice.voided",
        "charge.refunded",
    }


def test_timestamps_are_aware(acme):
    send("customer.subscription.created", subscription_object(acme), created=NOW)
    assert timezone.is_aware(live(acme).current_period_end)


# --- What we recorded decides the organisation ----------------------------------------------------


@pytest.fixture
def staff_team(staff):
    """Two active staff members and one who has left, beside a customer."""
    User = type(staff)
    User.objects.create_user("ops@nexuscore.test", "x", is_staff=True)
    User.objects.create_user("left@nexuscore.test", "x", is_staff=True, is_active=False)
    return ["ops@nexuscore.test", staff.email]


def refusals():
    return list(Event.objects.filter(event_type="billing.webhook_refused"))  # the platform's log


def assert_refused(stored, *, recorded, named):
    """Failed for good at once (no retry), the platform's audit log says who is who."""
    stored.refresh_from_db()
    assert (stored.status, stored.attempts, stored.next_attempt_at) == ("failed", 1, None)
    assert stored.error.startswith("Refused: ")
    (refusal,) = [e for e in refusals() if e.data["stripe_event"] == stored.event_id]
    assert (refusal.data["recorded"], refusal.data["named"]) == (recorded, named)
    assert refusal.data["reason"] in stored.error


def test_invoice_paid_naming_another_organisation_for_our_ids_is_refused(acme, globex, mailoutbox):
    """Acme's customer and subscription with globex in the metadata: no invoice for globex,
    globex stays on its trial, acme's records are untouched."""
    send("customer.subscription.created", subscription_object(acme), created=NOW)
    before = acme.subscriptions.get(stripe_subscription_id="sub_test_acme").updated_at

    stored = send("invoice.paid", invoice_object(globex, status="paid"))  # acme's ids

    assert_refused(stored, recorded=["acme"], named=["globex"])
    assert not Invoice.objects.exists()
    globex.refresh_from_db()
    assert globex.trial_ends_at is not None and live(globex).status == "trialing"
    assert live(acme).updated_at == before
    assert events(globex, "billing.invoice_paid") == events(acme, "billing.invoice_paid") == []
    assert not [m for m in mailoutbox if "Tax invoice" in m.subject]


def test_a_cancellation_naming_another_organisation_for_our_id_is_refused(acme, globex):
    """Acme's subscription id with globex in the metadata: acme's row stays active and acme
    writable; globex is not touched either."""
    send("customer.subscription.created", subscription_object(acme), created=NOW)

    gone = subscription_object(globex, status="canceled", canceled_at=NOW + 20)  # acme's id
    stored = send("customer.subscription.deleted", gone, created=NOW + 20)

    assert_refused(stored, recorded=["acme"], named=["globex"])
    assert live(acme).status == Subscription.Status.ACTIVE
    acme.refresh_from_db()
    globex.refresh_from_db()
    assert acme.subscription_ended_at is None and globex.subscription_ended_at is None
    assert live(globex).status == Subscription.Status.TRIALING


def test_a_checkout_whose_customer_is_another_organisations_is_refused(acme, globex):
    """Globex started a checkout (its Stripe customer is recorded); a completed session naming
    acme with globex's customer links nothing and ends no trial."""
    globex.subscriptions.live().update(stripe_customer_id="cus_test_globex")

    session = checkout_object(acme, customer="cus_test_globex", subscription="sub_test_new")
    stored = send("checkout.session.completed", session)

    assert_refused(stored, recorded=["globex"], named=["acme"])
    assert live(acme).stripe_subscription_id == live(globex).stripe_subscription_id == ""
    assert live(acme).stripe_customer_id == ""
    acme.refresh_from_db()
    assert acme.trial_ends_at is not None


def test_a_checkout_with_a_customer_we_did_not_record_for_its_organisation_is_refused(acme):
    acme.subscriptions.live().update(stripe_customer_id="cus_test_acme")
    session = checkout_object(acme, customer="cus_someone_else")
    stored = send("checkout.session.completed", session)
    assert_refused(stored, recorded=[], named=["acme"])
    assert "cus_test_acme" in stored.error
    assert live(acme).stripe_subscription_id == ""


def test_a_checkout_with_the_customer_we_recorded_links_the_trial(acme):
    acme.subscriptions.live().update(stripe_customer_id="cus_test_acme")
    stored = send("checkout.session.completed", checkout_object(acme))
    assert stored.status == WebhookEvent.Status.PROCESSED
    assert live(acme).stripe_subscription_id == "sub_test_acme"


def test_an_event_without_metadata_is_placed_by_what_we_recorded(acme):
    send("customer.subscription.created", subscription_object(acme), created=NOW)
    stored = send("invoice.finalized", invoice_object(acme, parent=None, metadata={}))
    assert stored.status == WebhookEvent.Status.PROCESSED
    assert Invoice.objects.get(stripe_invoice_id="in_test_1").tenant == acme


def test_a_refused_event_is_emailed_to_every_active_staff_member(
    acme, globex, staff_team, mailoutbox, settings
):
    settings.SITE_URL = "https://nexuscore.example"
    send("customer.subscription.created", subscription_object(acme), created=NOW)
    stored = send("invoice.paid", invoice_object(globex, status="paid"))

    alerts = [m for m in mailoutbox if stored.event_id in m.subject]
    assert sorted(address for m in alerts for address in m.to) == sorted(staff_team)
    assert all(len(m.to) == 1 for m in alerts)  # one each
    body = alerts[0].body
    assert "invoice.paid" in alerts[0].subject
    assert f"https://nexuscore.example/admin/billing/webhookevent/{stored.pk}/change/" in body
    assert "the metadata names globex" in body and "for acme" in body

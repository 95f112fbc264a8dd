"""Our Stripe test objects against Stripe's own examples, wherever those are at hand.

tests/stripe_objects.py writes each Stripe object NexusCore uses from Stripe's API reference.
Stripe publishes an example of every object (its OpenAPI fixtures); we keep them outside the
repository, in ../shared/fixtures/stripe/objects.json, which CI and our machines have. With it,
these tests check that

- every key a builder emits is in Stripe's example with the same JSON type, nested objects and
  lists alike (null on one side only where the SDK's types say Stripe may send null), and every
  field NexusCore reads is where Stripe puts it;
- the webhook handlers and our calls to Stripe accept Stripe's examples themselves, adjusted only
  in ids, and do with them what they do with ours.

A fresh clone has no ../shared: the whole module is skipped, and says why.
"""

import copy
import json
import types
import typing
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import stripe
from stripe._list_object import ListObject
from stripe._stripe_object import StripeObject, UntypedStripeObject

from nexuscore.billing.models import Invoice, Plan, Subscription, WebhookEvent
from nexuscore.billing.pdf import open_invoice_pdf
from tests import stripe_objects
from tests.conftest import client_for
from tests.fixtures_billing import deliver, invoice_object, stripe_event, subscription_object

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "stripe" / "objects.json"
if not REFERENCE.exists():
    pytest.skip(
        "../shared/fixtures/stripe/objects.json is absent "
        "(reference data kept outside the repository)",
        allow_module_level=True,
    )
EXAMPLES = json.loads(REFERENCE.read_text())["resources"]

# The SDK's class for each object we build: its type annotations say which fields may be null.
SDK_CLASSES = {
    "billing_portal.session": stripe.billing_portal.Session,
    "charge": stripe.Charge,
    "checkout.session": stripe.checkout.Session,
    "customer": stripe.Customer,
    "event": stripe.Event,
    "invoice": stripe.Invoice,
    "invoice_payment": stripe.InvoicePayment,
    "line_item": stripe.InvoiceLineItem,
    "price": stripe.Price,
    "subscription": stripe.Subscription,
    "subscription_item": stripe.SubscriptionItem,
}

# Where NexusCore reads each object (nexuscore/billing/handlers.py, webhooks.py, stripe_api.py).
READS = {
    "billing_portal.session": ["url"],
    "charge": ["id", "payment_intent", "amount_refunded"],
    "checkout.session": [
        "id",
        "mode",
        "subscription",
        "customer",
        "client_reference_id",
        "metadata",
        "payment_status",
        "url",
    ],
    "customer": ["id"],
    "event": ["id", "type", "created", "data.object"],
    "invoice": [
        "id",
        "status",
        "customer",
        "currency",
        "number",
        "total",
        "subtotal",
        "subtotal_excluding_tax",
        "amount_paid",
        "due_date",
        "metadata",
        "parent.subscription_details.subscription",
        "parent.subscription_details.metadata",
        "lines.data.0.amount",
        "lines.data.0.description",
        "status_transitions.finalized_at",
        "status_transitions.paid_at",
    ],
    "invoice_payment": ["invoice"],
    "subscription": [
        "id",
        "status",
        "customer",
        "metadata",
        "cancel_at_period_end",
        "canceled_at",
        "trial_start",
        "trial_end",
        "items.data.0.price.id",
        "items.data.0.current_period_start",
        "items.data.0.current_period_end",
    ],
}


def example(resource: str, **changes) -> dict:
    """A copy of Stripe's example `resource`, with `changes` replacing top-level fields."""
    return {**copy.deepcopy(EXAMPLES[resource]), **changes}


# --- Shapes ---------------------------------------------------------------------------------------


def _choices(hint) -> tuple:
    """The types a field may hold: Optional[X] and Union[str, X] (an expandable id) open up."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return (hint,)


def _nullable(hint) -> bool:
    return type(None) in _choices(hint)


def _object_type(hint):
    """The SDK class (or ListObject[...]) describing the object a field holds; None for maps
    whose keys are anyone's choice (metadata, an event's data.object)."""
    for choice in _choices(hint):
        if isinstance(choice, str | typing.ForwardRef):  # a class named before it is defined
            choice = getattr(stripe, getattr(choice, "__forward_arg__", choice))
        if typing.get_origin(choice) is UntypedStripeObject:
            return None
        if typing.get_origin(choice) is ListObject:
            return choice
        if isinstance(choice, type) and issubclass(choice, StripeObject):
            return choice
    raise LookupError(f"the SDK does not say what object {hint} is")


def _element_type(hint):
    for choice in _choices(hint):
        if typing.get_origin(choice) is list:
            return typing.get_args(choice)[0]
    raise LookupError(f"the SDK does not say what {hint} holds")


def _field_type(owner, key: str):
    """The SDK's annotation for field `key` of `owner`; None if the SDK has no such field."""
    if typing.get_origin(owner) is ListObject:
        (element,) = typing.get_args(owner)
        return {"object": str, "data": list[element], "has_more": bool, "url": str}.get(key)
    for klass in owner.__mro__:
        annotations = vars(klass).get("__annotations__", {})
        if key in annotations:
            return annotations[key]
    return None


def _json_type(value) -> str:
    for python_type, name in (
        (bool, "boolean"),  # before int: True is an int to Python
        (int, "integer"),
        (float, "number"),
        (str, "string"),
        (dict, "object"),
        (list, "array"),
    ):
        if isinstance(value, python_type):
            return name
    raise TypeError(f"{value!r} is not JSON")


def _value_differences(ours, theirs, hint, where: str) -> list[str]:
    if ours is None or theirs is None:
        if _nullable(hint):
            return []
        return [f"{where}: null on one side, but Stripe never sends it null"]
    if _json_type(ours) != _json_type(theirs):
        return [f"{where}: {_json_type(ours)} here, {_json_type(theirs)} in Stripe's example"]
    if isinstance(ours, dict):
        owner = _object_type(hint)
        return [] if owner is None else shape_differences(ours, theirs, owner, where)
    if isinstance(ours, list) and ours:
        if not theirs:
            return [f"{where}: Stripe's example list is empty, so nothing to compare with"]
        element = _element_type(hint)
        return [
            difference
            for item in ours
            for difference in _value_differences(item, theirs[0], element, f"{where}[]")
        ]
    return []


def shape_differences(ours: dict, theirs: dict, owner, path: str = "") -> list[str]:
    """Where a key of `ours` is missing from Stripe's `theirs`, or holds another JSON type."""
    differences = []
    for key, value in ours.items():
        where = f"{path}.{key}" if path else key
        hint = _field_type(owner, key)
        if key not in theirs:
            differences.append(f"{where}: not in Stripe's example")
        elif hint is None:
            differences.append(f"{where}: not in the SDK's {getattr(owner, '__name__', owner)}")
        else:
            differences += _value_differences(value, theirs[key], hint, where)
    return differences


TENANT_ID = uuid.uuid4()
OUR_OBJECTS = [
    *[pytest.param(name, stripe_objects.build(name), id=name) for name in stripe_objects.BUILDERS],
    # The organisation's objects, with the nullable fields a default leaves null filled in.
    pytest.param(
        "subscription",
        stripe_objects.subscription(
            tenant_id=TENANT_ID,
            status="canceled",
            cancel_at_period_end=True,
            canceled_at=stripe_objects.NOW,
            trial_start=stripe_objects.NOW - 14 * stripe_objects.DAY,
            trial_end=stripe_objects.NOW,
        ),
        id="subscription-cancelled-after-a-trial",
    ),
    pytest.param(
        "invoice", stripe_objects.invoice(tenant_id=TENANT_ID, status="paid"), id="invoice-paid"
    ),
    pytest.param("invoice", stripe_objects.invoice(status="draft"), id="invoice-draft"),
    pytest.param("invoice", stripe_objects.invoice(status="void"), id="invoice-void"),
    pytest.param(
        "checkout.session",
        stripe_objects.checkout_session(
            tenant_id=TENANT_ID,
            customer="cus_test_acme",
            subscription="sub_test_acme",
            payment_status="paid",
            status="complete",
        ),
        id="checkout-session-completed",
    ),
    pytest.param(
        "event",
        stripe_objects.event(type="invoice.paid", data_object=stripe_objects.invoice()),
        id="event-invoice-paid",
    ),
]


@pytest.mark.parametrize(("resource", "ours"), OUR_OBJECTS)
def test_our_object_has_the_shape_of_stripes_example(resource, ours):
    assert shape_differences(ours, EXAMPLES[resource], SDK_CLASSES[resource]) == []


def _has(obj, path: str) -> bool:
    for step in path.split("."):
        if isinstance(obj, list) and step.isdigit() and int(step) < len(obj):
            obj = obj[int(step)]
        elif isinstance(obj, dict) and step in obj:
            obj = obj[step]
        else:
            return False
    return True


@pytest.mark.parametrize("resource", READS)
def test_what_nexuscore_reads_is_where_stripe_and_our_builders_put_it(resource):
    ours = stripe_objects.build(resource)
    assert [path for path in READS[resource] if not _has(EXAMPLES[resource], path)] == []
    assert [path for path in READS[resource] if not _has(ours, path)] == []


def test_the_shape_check_finds_what_differs():
    """The check itself: a missing key, another type, a null Stripe never sends, nested."""
    theirs = {"id": "in_1", "amount_due": 0, "status_transitions": {"paid_at": None}}
    ours = {
        "id": None,
        "amount_due": "0",
        "status_transitions": {"paid_at": 1, "paid_by": "x"},
        "unheard_of": 1,
    }
    assert shape_differences(ours, theirs, stripe.Invoice) == [
        "id: null on one side, but Stripe never sends it null",
        "amount_due: string here, integer in Stripe's example",
        "status_transitions.paid_by: not in Stripe's example",
        "unheard_of: not in Stripe's example",
    ]


# --- Stripe's examples through our code -----------------------------------------------------------


@pytest.fixture
def priced(db):
    """The Growth plan is sold at the Stripe price our builders name."""
    Plan.objects.filter(sku="growth-month").update(stripe_price_id="price_test_growth_month")


@pytest.fixture
def webhooks(priced, billing_media, webhook_secret):
    """Signed webhook deliveries, with invoice PDFs in this test's own folder."""


def send(event_type, data_object) -> WebhookEvent:
    event = stripe_event(event_type, data_object)
    assert deliver(event).status_code == 200
    return WebhookEvent.objects.get(event_id=event["id"])


def live(tenant) -> Subscription:
    return Subscription.objects.live().get(tenant=tenant)


def _when(timestamp) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def test_stripes_example_subscription_is_recorded_for_the_organisation(acme, webhooks):
    subscription = example(
        "subscription",
        id="sub_test_acme",
        customer="cus_test_acme",
        metadata={"tenant_id": str(acme.pk)},  # as our Checkout sends it
    )
    item = subscription["items"]["data"][0]
    item["price"]["id"], item["subscription"] = "price_test_growth_month", "sub_test_acme"

    stored = send("customer.subscription.created", subscription)

    assert stored.status == WebhookEvent.Status.PROCESSED
    row = live(acme)
    assert (row.stripe_subscription_id, row.stripe_customer_id) == (
        "sub_test_acme",
        "cus_test_acme",
    )
    assert (row.status, row.plan.sku) == (subscription["status"], "growth-month")
    assert row.current_period_start == _when(item["current_period_start"])
    assert row.current_period_end == _when(item["current_period_end"])
    assert row.cancel_at_period_end is subscription["cancel_at_period_end"]
    acme.refresh_from_db()
    assert acme.trial_ends_at is None


def test_stripes_example_invoice_is_issued_as_our_tax_invoice(acme, webhooks):
    send("customer.subscription.created", subscription_object(acme))
    invoice = example("invoice", id="in_test_1", customer="cus_test_acme")
    invoice["parent"]["subscription_details"]["subscription"] = "sub_test_acme"
    (line,) = invoice["lines"]["data"]
    line["invoice"] = "in_test_1"

    # Stripe's example is a draft: finalizing it waits for a number, as for our drafts.
    assert send("invoice.finalized", invoice).status == WebhookEvent.Status.PROCESSED
    assert not Invoice.objects.exists()

    assert send("invoice.paid", invoice).status == WebhookEvent.Status.PROCESSED
    ours = Invoice.objects.get(stripe_invoice_id="in_test_1")
    assert (ours.tenant, ours.subscription) == (acme, live(acme))
    assert ours.number.startswith("INV-")
    assert (ours.currency, ours.subtotal_cents) == (
        invoice["currency"].upper(),
        invoice["subtotal_excluding_tax"],
    )
    assert ours.line_items == [{"description": line["description"], "amount_cents": line["amount"]}]
    assert ours.status == Invoice.Status.PAID
    assert open_invoice_pdf(ours).read().startswith(b"%PDF")


def test_stripes_example_charge_refunded_becomes_a_credit_note(acme, webhooks, fake_stripe):
    send("invoice.paid", invoice_object(acme, status="paid"))
    fake_stripe.build = example  # the invoice payment Stripe answers with is its example
    fake_stripe.invoice_for_payment_intent["pi_test_1"] = "in_test_1"
    charge = example("charge", id="ch_test_1", payment_intent="pi_test_1")
    # Stripe's example charge is not refunded; this is the event after refunding all of it.
    refunded = {**charge, "amount_refunded": charge["amount"], "refunded": True}

    assert send("charge.refunded", refunded).status == WebhookEvent.Status.PROCESSED

    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert note.credit_note_for.stripe_invoice_id == "in_test_1"
    assert note.total_cents == -charge["amount"]


def test_checkout_and_portal_accept_stripes_example_answers(acme, owner, priced, fake_stripe):
    fake_stripe.build = example
    client = client_for(acme, owner)

    response = client.post(
        "/billing/checkout/", {"plan": "growth-month", "idempotency_key": "a" * 32}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    assert live(acme).stripe_customer_id.startswith("cus_test_")

    response = client.post("/billing/portal/", {"idempotency_key": "b" * 32})
    assert response.status_code == 302
    assert response["Location"].startswith("https://billing.stripe.com/p/session/")

"""Bad input, generated: every public form and endpoint (contact, website capture, sign-up,
organisation creation, privacy requests on both hosts, the Stripe webhook) answers any input
with a 2xx, 3xx or 4xx (a re-shown form says what is wrong on the field), never a 500, and the
database holds either the whole of what was submitted or nothing of it.

Hypothesis (property-based testing) writes the inputs: missing fields, empty and enormous text,
NUL and other control characters, right-to-left overrides, emoji, SQL and HTML, numbers where
text goes and text where numbers go, unknown extra fields, and now and then a valid value so
that the success path is exercised too. Each example comes from its own address, so the forms'
rate limits don't turn the run into a test of the rate limit.
"""

import hashlib
import hmac
import json
import time

from django.db.models import Count
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexuscore.accounts.models import User
from nexuscore.billing.models import WebhookEvent
from nexuscore.leads.models import Lead
from nexuscore.privacy.models import DSARRequest
from tenants.models import Membership, Tenant
from tests.conftest import client_for

GENERATED = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

GARBAGE = st.one_of(
    st.text(max_size=40),
    st.text(min_size=256, max_size=6000),
    st.sampled_from(
        [
            "", " ", "\x00", "nul\x00inside", "a" * 70_000, "<script>alert(1)</script>",
            "'; DROP TABLE leads_lead; --", "😀" * 80, "\u202eevil",
            "\uff19\uff11\uff12\uff13\uff14\uff15\uff16\uff17",  # 91234567 in full width
            "-1", "0", "1e309", "NaN", "None", "[]", "{}", "true", "on", "../../etc/passwd",
        ]
    ),
)  # fmt: skip
ADDRESSES = st.ip_addresses(v=4).map(str)
SHOWN_AN_ERROR = ('aria-invalid="true"', 'class="field-errors"', 'role="alert"')


def maybe(*valid):
    """A valid value now and then, garbage otherwise."""
    return st.one_of(st.sampled_from(valid), GARBAGE)


def form(**fields):
    """A form post: any subset of the fields (each valid or garbage), plus unknown extras."""
    known = st.fixed_dictionaries({}, optional=fields)
    extras = st.dictionaries(st.text(min_size=1, max_size=12), GARBAGE, max_size=3)
    return st.tuples(known, extras).map(lambda pair: {**pair[1], **pair[0]})


def assert_answered(response, created: int, what: str) -> None:
    """2xx/3xx/4xx; a re-shown form names what is wrong; nothing half-written."""
    body = response.content.decode(errors="replace")
    assert response.status_code < 500, f"{what}: {response.status_code}"
    assert created in (0, 1), f"{what}: {created} rows from one submission"
    if response.status_code == 200 and created == 0 and "<form" in body:
        assert any(mark in body for mark in SHOWN_AN_ERROR), f"{what}: no message on the form"


CONTACT = form(
    name=maybe("Tan Ah Kow"),
    email=maybe("ah.kow@example.sg"),
    company=maybe("Kow Trading Pte. Ltd."),
    phone=maybe("+65 9123 4567", "91234567"),
    message=maybe("We would like a demo."),
    consent=maybe("on"),
    website=maybe(""),
    submission_key=maybe("0123456789abcdef0123456789abcdef"),
    utm_source=maybe("newsletter"),
    referrer=maybe("https://example.sg/"),
)


@GENERATED
@given(data=CONTACT, address=ADDRESSES)
def test_the_contact_form_survives_anything(db, data, address):
    before = Lead.objects.count()
    response = client_for(None).post("/contact/", data, REMOTE_ADDR=address)
    assert_answered(response, Lead.objects.count() - before, f"contact {data!r}")


CAPTURE = form(
    name=maybe("Siti Rahman"),
    email=maybe("siti@example.sg"),
    phone=maybe("+65 8123 4567"),
    company=maybe("Rahman Logistics"),
    message=maybe("Call me back"),
    consent=maybe("on"),
    website=maybe(""),
    submission_key=maybe("fedcba9876543210fedcba9876543210"),
    utm_source=maybe("google"),
    utm_campaign=maybe("launch"),
)


@GENERATED
@given(data=CAPTURE, address=ADDRESSES)
def test_the_website_form_survives_anything(acme, data, address):
    with schema_context("acme"):
        before = Lead.objects.count()
    response = client_for(acme).post("/f/contact/", data, REMOTE_ADDR=address)
    with schema_context("acme"):
        created = Lead.objects.count() - before
        if created:
            lead = Lead.objects.latest("created_at")
            assert lead.consent_given_at is not None and lead.email
    assert_answered(response, created, f"capture {data!r}")


SIGNUP = form(
    email=maybe("new.person@example.sg"),
    password1=maybe("a long passphrase 2026"),
    password2=maybe("a long passphrase 2026"),
    name=maybe("New Person"),
    company=maybe("Person Pte. Ltd."),
)


@GENERATED
@given(data=SIGNUP, address=ADDRESSES)
def test_sign_up_survives_anything(db, data, address):
    before = User.objects.count()
    response = client_for(None).post("/accounts/signup/", data, REMOTE_ADDR=address)
    assert_answered(response, User.objects.count() - before, f"sign-up {data!r}")


ORGANISATION = form(
    name=maybe("Fuzz Holdings Pte. Ltd."),
    slug=maybe("fuzz-holdings", "acme", "www", "a"),
    uen=maybe("201912345R", "00192200M", "12345678A"),
    is_gst_registered=maybe("on"),
    gst_number=maybe("M90312345A", "201912345R"),
    billing_email=maybe("accounts@fuzz.sg"),
    plan=maybe("starter-month", "growth-month", "00000000-0000-0000-0000-000000000000"),
)


@GENERATED
@given(data=ORGANISATION)
def test_organisation_creation_survives_anything(db, data):
    person = User.objects.get_or_create(email="fuzz.founder@example.sg", name="Fuzz Founder")[0]
    before = Tenant.objects.count()
    response = client_for(None, person).post("/signup/", data)
    created = Tenant.objects.count() - before
    if created:
        # Whole or nothing: the new organisation has its schema, its owner and its trial.
        tenant = Tenant.objects.latest("created_at")
        assert Membership.objects.filter(tenant=tenant, user=person, role="owner").exists()
        assert tenant.subscriptions.count() == 1
        with schema_context(tenant.schema_name):
            Lead.objects.count()
    assert_answered(response, created, f"organisation {data!r}")


PRIVACY_REQUEST = form(
    email=maybe("ann@example.sg"),
    request_type=maybe("access", "deletion", "correction", "withdraw_consent"),
    correction_field=maybe("name", "phone", "email", "company"),
    correction_value=maybe("Ann Tan"),
    details=maybe("Please send my data."),
    website=maybe(""),
)


@GENERATED
@given(data=PRIVACY_REQUEST, address=ADDRESSES, on_acme=st.booleans())
def test_the_privacy_request_forms_survive_anything(acme, data, address, on_acme):
    """On NexusCore's public host and on an organisation's host alike."""
    tenant = acme if on_acme else None
    schema = "acme" if on_acme else "public"
    with schema_context(schema):
        before = DSARRequest.objects.count()
    response = client_for(tenant).post("/privacy/request/", data, REMOTE_ADDR=address)
    with schema_context(schema):
        created = DSARRequest.objects.count() - before
    assert_answered(response, created, f"privacy request on {schema} {data!r}")


WEBHOOK_SECRET = "whsec_bad_input_suite"
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
EVENT_LIKE = st.fixed_dictionaries(
    {"id": maybe("evt_fuzz_1", "evt_fuzz_2"), "type": maybe("invoice.paid", "nonsense.type")},
    optional={"object": maybe("event"), "data": JSON, "created": st.integers(), "livemode": JSON},
)


def signed(body: bytes, timestamp: int) -> str:
    payload = f"{timestamp}.".encode() + body
    digest = hmac.new(WEBHOOK_SECRET.encode(), payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


WEBHOOK_POSTS = st.one_of(
    # Anything at all, signed any which way.
    st.tuples(st.binary(max_size=2000), st.one_of(st.none(), st.text(max_size=80)), st.just(False)),
    # Correctly signed, but the body is any JSON at all, or event-shaped with wrong insides.
    st.tuples(JSON.map(lambda v: json.dumps(v).encode()), st.none(), st.just(True)),
    st.tuples(EVENT_LIKE.map(lambda v: json.dumps(v).encode()), st.none(), st.just(True)),
)


@GENERATED
@given(post=WEBHOOK_POSTS)
def test_the_stripe_webhook_survives_anything(db, settings, post):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    body, signature, sign_it = post
    if sign_it:
        signature = signed(body, int(time.time()))
    headers = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature}
    before = WebhookEvent.objects.count()
    response = client_for(None).post(
        "/webhooks/stripe/", body, content_type="application/json", **headers
    )
    created = WebhookEvent.objects.count() - before
    assert response.status_code < 500, f"webhook {body[:200]!r}: {response.status_code}"
    assert created in (0, 1)
    if not sign_it:
        assert response.status_code == 400 and created == 0, "an unsigned post was let in"
    duplicates = WebhookEvent.objects.values("event_id").annotate(n=Count("id")).filter(n__gt=1)
    assert not duplicates.exists()


def test_an_overlong_utm_value_is_cut_not_refused(acme):
    """Found by the generated run above: a hidden value people cannot see must not stop them."""
    data = {"name": "Siti Rahman", "email": "siti@example.sg", "consent": "on"}
    data |= {"utm_campaign": "x" * 300, "submission_key": "k" * 100}
    response = client_for(acme).post("/f/contact/", data, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302
    with schema_context("acme"):
        assert Lead.objects.get(email="siti@example.sg").utm_campaign == "x" * 255

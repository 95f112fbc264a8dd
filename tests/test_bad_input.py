"""Bad input, generated: every public form and endpoint (contact, website capture, sign-up,
organisation creation, privacy requests on both hosts, the Stripe webhook) answers any input
with a 2xx, 3xx or 4xx (a re-shown form says what is wrong on the field), never a 500, and the
database holds either the whole of what was submitted or nothing of it. So do the activity
log's filters and the usage check (/usage/check/) of an organisation's host, and the dates of
the lead list and of the staff admin's date drill-down.

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

import pytest
from django.db.models import Count
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexuscore.accounts.models import User
from nexuscore.billing.models import WebhookEvent
from nexuscore.leads.models import Lead
from nexuscore.privacy.models import DSARRequest
from nexuscore.quotas.models import METRICS
from nexuscore.quotas.views import MAX_AMOUNT, MAX_BODY_BYTES
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


# --- Signed in on an organisation's host ---------------------------------------------------------

DAYS = st.one_of(
    st.dates().map(str),  # year 1 to 9999: the calendar's edges, where a day has no next day
    st.sampled_from(
        [
            "9999-12-31", "0001-01-01", "1899-12-31", "2100-01-01", "2026-03-02", "2026-02-30",
            "10000-01-01", "2026-13-01", "31/12/2026", "12/31/99", "2026-03-02T10:00",
        ]
    ),
    GARBAGE,
)  # fmt: skip
ACTIVITY_FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "type": maybe("lead.created", "organisation.created", "member.role_changed"),
        "person": maybe(""),
        "from": DAYS,
        "to": DAYS,
        "page": maybe("1", "2", "999999", "-1"),
    },
)


@GENERATED
@given(query=ACTIVITY_FILTERS, htmx=st.booleans())
def test_the_activity_filters_survive_anything(acme, owner, query, htmx):
    """Each filter that cannot apply says why on its field (or, in the HTMX partial, above the
    events); the others still apply."""
    headers = {"HX-Request": "true"} if htmx else {}
    response = client_for(acme, owner).get("/activity/", query, headers=headers)
    assert response.status_code == 200, f"activity {query!r}: {response.status_code}"
    body = response.content.decode()
    for name in response.context["form"].errors:
        if htmx:
            assert "Some filters were not applied" in body, f"activity {query!r}: {name}"
        else:
            assert f'id="id_{name}_error"' in body, f"activity {query!r}: no message on {name}"


def _as_json(body: bytes):
    """What the usage check reads from a JSON body: the object, or None if it is not one."""
    if len(body) > MAX_BODY_BYTES:
        return None
    try:
        return json.loads(body or b"{}")
    except (ValueError, RecursionError):
        return None


NUMBERS = st.one_of(
    st.integers(),  # now and then far past 64 bits
    st.integers(min_value=1, max_value=MAX_AMOUNT),
    st.floats(),  # NaN and the infinities too: json.dumps writes them, json.loads reads them
    st.booleans(),
    st.none(),
    st.integers().map(str),
    JSON,
)
CHECK_OBJECTS = st.fixed_dictionaries(
    {},
    optional={"metric": st.one_of(st.sampled_from(sorted(METRICS)), JSON), "amount": NUMBERS},
)
CHECK_BODIES = st.one_of(
    CHECK_OBJECTS.map(lambda value: json.dumps(value).encode()),
    JSON.map(lambda value: json.dumps(value).encode()),
    st.integers(1, 100_000).map(lambda depth: ("[" * depth + "]" * depth).encode()),
    st.integers(1, 5_000).map(lambda depth: ('{"a": ' * depth + "1" + "}" * depth).encode()),
    st.integers(MAX_BODY_BYTES, 3_000_000).map(
        lambda size: b'{"metric": "members", "amount": 1, "pad": "' + b"x" * size + b'"}'
    ),
    st.binary(max_size=2000),
)


@GENERATED
@given(body=CHECK_BODIES)
def test_the_usage_check_survives_any_json_body(acme, member, body):
    """An answer when the body is an object with a known metric and a whole amount from 1 to
    MAX_AMOUNT; otherwise a 400 whose JSON names the field at fault (none: the whole body)."""
    response = client_for(acme, member).post("/usage/check/", body, content_type="application/json")
    what = f"usage check {body[:200]!r}"
    assert response.status_code in (200, 400), f"{what}: {response.status_code}"
    answer = response.json()
    data = _as_json(body)
    if not isinstance(data, dict):
        assert (response.status_code, answer["field"]) == (400, None), what
        return
    amount, metric = data.get("amount", 1), data.get("metric", "")
    if type(amount) is not int or not 1 <= amount <= MAX_AMOUNT:
        assert (response.status_code, answer["field"]) == (400, "amount"), what
    elif not isinstance(metric, str) or metric not in METRICS:
        assert (response.status_code, answer["field"]) == (400, "metric"), what
    else:
        assert response.status_code == 200, what
        assert (answer["metric"], answer["amount"]) == (metric, amount)
    if response.status_code == 400:
        assert answer["error"], what


USAGE_FORM = form(metric=maybe(*sorted(METRICS)), amount=maybe("1", "26", "1000000", "1000001"))


@GENERATED
@given(data=USAGE_FORM)
def test_the_usage_check_survives_any_form(acme, member, data):
    response = client_for(acme, member).post("/usage/check/", data)
    assert response.status_code in (200, 400), f"usage form {data!r}: {response.status_code}"
    if response.status_code == 400:
        assert response.json()["field"] in ("amount", "metric", None)


@pytest.mark.parametrize("query", ["created_to=9999-12-31", "created_from=0001-01-01"])
def test_the_lead_lists_dates_off_the_calendar_are_explained(acme, owner, query):
    response = client_for(acme, owner).get(f"/leads/?{query}")
    assert response.status_code == 200
    assert b"Enter a date from 1900-01-01 to 2099-12-31." in response.content


@pytest.mark.parametrize(("day", "at"), [("0001-01-01", "00:00"), ("9999-12-31", "23:59")])
def test_a_follow_up_off_the_calendar_is_refused_not_stored(acme, owner, day, at):
    """0001-01-01 00:00 in Singapore is 1 BC in UTC: PostgreSQL stored it, and from then on the
    lead's page and the lead list could not read it back (a 500 on every visit)."""
    with schema_context("acme"):
        lead = Lead.objects.create(name="Pat Lim", email="pat@example.sg")
    client = client_for(acme, owner)
    response = client.post(f"/leads/{lead.pk}/follow-up/", {"day": day, "at": at}, follow=True)
    assert response.status_code == 200
    assert b"Follow-up not saved: Enter a date from 1900-01-01 to 2099-12-31." in response.content
    with schema_context("acme"):
        assert Lead.objects.get(pk=lead.pk).next_follow_up is None
    assert client.get("/leads/").status_code == 200


def test_a_lead_edited_with_a_follow_up_off_the_calendar_is_shown_the_error(acme, owner):
    with schema_context("acme"):
        lead = Lead.objects.create(name="Pat Lim", email="pat@example.sg")
    data = {"name": "Pat Lim", "email": "pat@example.sg", "source": "manual", "status": "new"}
    data["next_follow_up"] = "0001-01-01T00:00"
    response = client_for(acme, owner).post(f"/leads/{lead.pk}/edit/", data)
    assert response.status_code == 200
    assert b"Enter a date from 1900-01-01 to 2099-12-31." in response.content
    with schema_context("acme"):
        assert Lead.objects.get(pk=lead.pk).next_follow_up is None


# --- The staff admin ----------------------------------------------------------------------------

DATE_DRILL_DOWNS = [
    ("audit/event", "created_at"),
    ("leads/lead", "created_at"),
    ("quotas/usageevent", "created_at"),
    ("quotas/usagerecord", "period_start"),
    ("privacy/dsarrequest", "requested_at"),
]


@pytest.mark.parametrize(("changelist", "field"), DATE_DRILL_DOWNS)
@pytest.mark.parametrize(
    "days",
    [
        "{f}__year=9999",  # the year after has no number Python can hold
        "{f}__year=9999&{f}__month=12",
        "{f}__year=9999&{f}__month=12&{f}__day=31",
        "{f}__year=99999999999999999999",
        "{f}__year=0",
        "{f}__year=2026&{f}__month=2&{f}__day=30",
    ],
)
def test_the_staff_admins_date_drill_down_survives_the_calendars_edge(
    staff_with_mfa, changelist, field, days
):
    """Django itself fails on these (a 500); a wrong drill-down returns to the whole list."""
    url = f"/admin/{changelist}/?{days.format(f=field)}"
    response = client_for(None, staff_with_mfa).get(url, follow=True)
    assert response.status_code == 200, url
    assert b"Database error" not in response.content


def test_a_staff_admin_date_off_the_calendar_is_refused_on_its_field(staff_with_mfa):
    """A follow-up in year 1 was stored (as 1 BC in UTC) and every list showing it then failed."""
    with schema_context("public"):
        lead = Lead.objects.create(name="Pat Lim", email="pat@example.sg")
    client = client_for(None, staff_with_mfa)
    url = f"/admin/leads/lead/{lead.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data |= {"next_follow_up_0": "0001-01-01", "next_follow_up_1": "00:00:00"}
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["next_follow_up"] == [
        "Enter a date from 1900-01-01 to 2099-12-31."
    ]
    with schema_context("public"):
        assert Lead.objects.get(pk=lead.pk).next_follow_up is None
    assert client.get("/admin/leads/lead/").status_code == 200

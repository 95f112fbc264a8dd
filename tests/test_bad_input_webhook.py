"""Hostile payloads, correctly signed: the Stripe webhook answers JSON nested a hundred thousand
deep, numbers no float or JSON column holds, lone surrogates, NUL and bytes spliced into a real
event with a 2xx or a 400, never a 500; a 400 stores nothing, and whatever it does store can be
read back and processed.

The signature proves only that the body came with our secret: a leaked secret, or a bug in what
Stripe sends, must not take the endpoint down. Hypothesis writes the bodies (see
tests/test_bad_input.py for the forms and the unsigned posts).
"""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexuscore.billing.handlers import HANDLERS
from nexuscore.billing.models import WebhookEvent
from tests.conftest import client_for
from tests.fixtures_billing import signature

GENERATED = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

LEAVES = st.sampled_from(
    [
        "null", "0", "-0", '""', '"evt_x"', "1.5e308", "1e999", "-1e999", "1" * 5000,
        "9" * 4000, "NaN", "Infinity", "-Infinity", '"\\ud800"', '"\\udfff tail"',
        '"\\u0000"', '"\\\\u0000"', "[]", "{}", "tru", '"unterminated',
    ]
)  # fmt: skip
OPENERS = st.sampled_from(["[", '{"a": ', '{"object": ', '[{"data": '])
DEPTHS = st.one_of(
    st.integers(1, 40), st.integers(800, 1200), st.integers(4000, 20_000), st.just(100_000)
)
EVENT_TYPES = st.sampled_from([*HANDLERS, "nonsense.type"])


def nest(opener: str, depth: int, leaf: str) -> str:
    closer = "".join("]" if char == "[" else "}" for char in reversed(opener) if char in "[{")
    return opener * depth + leaf + closer * depth


NESTED = st.builds(nest, OPENERS, DEPTHS, LEAVES)


def event_body(event_id: str, event_type: str, data_object: str, created: str = "1") -> str:
    return (
        f'{{"id": "{event_id}", "object": "event", "type": "{event_type}", '
        f'"created": {created}, "data": {{"object": {data_object}}}}}'
    )


def splice(body: str, at: int, junk: bytes) -> bytes:
    raw = body.encode()
    at = at % (len(raw) + 1)
    return raw[:at] + junk + raw[at:]


EVENT_IDS = st.integers(1, 10**6).map(lambda n: f"evt_fuzz_{n}")
BODIES = st.one_of(
    # A nested value on its own, not an event at all.
    NESTED.map(str.encode),
    # An event whose object is nested, or a number or string nothing can store.
    st.builds(event_body, EVENT_IDS, EVENT_TYPES, st.one_of(NESTED, LEAVES)).map(str.encode),
    # An event whose created time is one of them.
    st.builds(event_body, EVENT_IDS, EVENT_TYPES, st.just("{}"), LEAVES).map(str.encode),
    # A plain event with bytes spliced in somewhere.
    st.builds(
        splice,
        st.builds(event_body, EVENT_IDS, EVENT_TYPES, st.just('{"id": "in_fuzz"}')),
        st.integers(0, 200),
        st.one_of(st.binary(min_size=1, max_size=8), st.sampled_from([b"[" * 5000, b"\x00"])),
    ),
)


def post_signed(body: bytes):
    return client_for(None).post(
        "/webhooks/stripe/", body, content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature(body),
    )  # fmt: skip


@GENERATED
@given(body=BODIES)
def test_a_signed_hostile_body_never_gives_a_server_error(db, webhook_secret, body):
    before = set(WebhookEvent.objects.values_list("pk", flat=True))
    response = post_signed(body)
    assert response.status_code < 500, f"{body[:200]!r}: {response.status_code}"
    created = WebhookEvent.objects.exclude(pk__in=before)
    if response.status_code == 400:
        assert not created.exists(), f"{body[:200]!r}: refused but stored"
    assert created.count() in (0, 1)
    for stored in created:  # read back (jsonb writes 1.5e308 out in digits), and processed
        assert stored.payload.keys() == json.loads(body).keys()
        assert stored.status in WebhookEvent.Status.values


def test_json_nested_a_hundred_thousand_deep_is_refused_and_nothing_stored(db, webhook_secret):
    body = event_body("evt_deep", "invoice.paid", nest("[", 100_000, "0")).encode()
    response = post_signed(body)
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()

"""The Stripe webhook: real signatures over payloads shaped as Stripe sends them (built by
tests/stripe_objects.py, which test_stripe_reference.py checks against Stripe's examples)."""

import hashlib
import hmac
import json
import time

import pytest
from django_q.models import Schedule
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event
from nexuscore.billing.models import WebhookEvent
from nexuscore.billing.webhooks import process_webhook_event
from tests.conftest import client_for
from tests.fixtures_billing import stripe_event, stripe_object

SECRET = "whsec_test_nexuscore"


def _event(event_type, data_object, event_id="evt_test_1"):
    return stripe_event(event_type, data_object, event_id=event_id)


def _signature(body: bytes, secret=SECRET, at=None) -> str:
    timestamp = int(at if at is not None else time.time())
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _deliver(event, secret=SECRET, at=None, body=None):
    body = body if body is not None else json.dumps(event).encode()
    return client_for(None).post(
        "/webhooks/stripe/",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=_signature(body, secret, at),
    )


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET


def test_a_signed_event_is_stored_and_processed(db):
    event = _event("plan.created", stripe_object("price"))
    response = _deliver(event)
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    stored = WebhookEvent.objects.get(event_id="evt_test_1")
    assert (stored.event_type, stored.status) == ("plan.created", WebhookEvent.Status.IGNORED)
    assert stored.payload["data"]["object"]["id"] == event["data"]["object"]["id"]


def test_the_same_event_three_times_is_stored_once(db):
    event = _event("plan.created", stripe_object("price"))
    answers = [_deliver(event).json()["duplicate"] for _ in range(3)]
    assert answers == [False, True, True]
    assert WebhookEvent.objects.filter(event_id="evt_test_1").count() == 1


def test_a_forged_signature_is_refused_and_nothing_stored(db):
    event = _event("plan.created", stripe_object("price"))
    assert _deliver(event, secret="whsec_guessed").status_code == 400
    body = json.dumps(event).encode()
    tampered = body.replace(b"plan.created", b"plan.deleted")
    response = client_for(None).post(
        "/webhooks/stripe/", tampered, content_type="application/json",
        HTTP_STRIPE_SIGNATURE=_signature(body),
    )  # fmt: skip
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_timestamp_outside_the_tolerance_is_refused(db):
    event = _event("plan.created", stripe_object("price"))
    assert _deliver(event, at=time.time() - 301).status_code == 400
    assert _deliver(event, at=time.time() - 250).status_code == 200


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"id": "evt_x"}', b"\xff\xfe"])
def test_garbage_is_refused_cleanly(db, body):
    response = _deliver(None, body=body)
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def _event_body(data_object: str, created: str = "1") -> bytes:
    event = f'"id": "evt_hostile", "type": "invoice.paid", "created": {created}'
    return f'{{{event}, "data": {{"object": {data_object}}}}}'.encode()


@pytest.mark.parametrize(
    "body",
    [
        # RecursionError in the json module, outside the errors it documents.
        pytest.param(_event_body("[" * 100_000 + "]" * 100_000), id="nested-arrays"),
        pytest.param(_event_body('{"a": ' * 100_000 + "0" + "}" * 100_000), id="nested-objects"),
        pytest.param(_event_body("[" * 900 + "]" * 900), id="deeper-than-stripe-nests"),
        pytest.param(_event_body("1e999"), id="float-overflow"),  # inf: no JSON column holds it
        pytest.param(_event_body("0", created="-1e999"), id="negative-overflow"),
        pytest.param(_event_body("NaN"), id="nan"),
        pytest.param(_event_body("Infinity"), id="infinity"),
        pytest.param(_event_body("1" * 5000), id="too-many-digits"),
        pytest.param(_event_body('"\\ud800 alone"'), id="lone-surrogate"),  # jsonb refuses it
    ],
)
def test_a_signed_body_nothing_can_store_is_refused_and_nothing_stored(db, body):
    response = _deliver(None, body=body)
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_without_a_secret_everything_is_refused(db, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    event = _event("plan.created", stripe_object("price"))
    assert _deliver(event).status_code == 400
    assert not WebhookEvent.objects.exists()


def test_only_post(db):
    assert client_for(None).get("/webhooks/stripe/").status_code == 405


def test_an_early_event_fails_then_succeeds_on_retry(acme):
    subscription_object = stripe_object("subscription")
    event = _event("customer.subscription.trial_will_end", subscription_object, "evt_early")
    _deliver(event)
    stored = WebhookEvent.objects.get(event_id="evt_early")
    assert (stored.status, stored.attempts) == (WebhookEvent.Status.PENDING, 1)
    assert "NotYetKnown" in stored.error and stored.next_attempt_at is not None
    assert Schedule.objects.filter(name__startswith=f"retry webhook {stored.pk}").exists()

    # The subscription is linked (checkout completed), then the retry runs.
    acme.subscriptions.live().update(stripe_subscription_id=subscription_object["id"])
    assert process_webhook_event(str(stored.pk)) == WebhookEvent.Status.PROCESSED
    assert process_webhook_event(str(stored.pk)) == WebhookEvent.Status.PROCESSED  # twice: same
    with schema_context("acme"):
        assert Event.objects.filter(event_type="billing.trial_will_end").count() == 1


def test_retries_stop_after_the_limit_and_staff_can_replay(acme, settings, staff_with_mfa):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    subscription_object = stripe_object("subscription")
    _deliver(_event("customer.subscription.trial_will_end", subscription_object, "evt_stuck"))
    stored = WebhookEvent.objects.get(event_id="evt_stuck")
    process_webhook_event(str(stored.pk))
    stored.refresh_from_db()
    assert (stored.status, stored.attempts) == (WebhookEvent.Status.FAILED, 2)

    acme.subscriptions.live().update(stripe_subscription_id=subscription_object["id"])
    staff = client_for(None, staff_with_mfa)
    assert staff.get("/admin/billing/webhookevent/?status__exact=failed").status_code == 200
    response = staff.post(
        "/admin/billing/webhookevent/",
        {"action": "replay_events", "_selected_action": [str(stored.pk)]},
    )
    assert response.status_code == 302
    stored.refresh_from_db()
    assert stored.status == WebhookEvent.Status.PROCESSED


def test_staff_are_emailed_once_when_an_event_fails_for_good(acme, settings, staff, mailoutbox):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    _deliver(_event("customer.subscription.trial_will_end", stripe_object("subscription")))
    stored = WebhookEvent.objects.get(event_id="evt_test_1")
    assert mailoutbox == []  # one failure: it will be tried again

    process_webhook_event(str(stored.pk))
    process_webhook_event(str(stored.pk))  # a stray second run of the task: no second email
    (alert,) = mailoutbox
    assert alert.to == [staff.email]
    assert "evt_test_1" in alert.subject and "customer.subscription.trial_will_end" in alert.subject
    assert "NotYetKnown: no subscription" in alert.body
    assert f"{settings.SITE_URL}/admin/billing/webhookevent/{stored.pk}/change/" in alert.body


def test_the_staff_list_of_events_marks_the_failed_ones(db, settings, staff_with_mfa):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    _deliver(_event("customer.subscription.trial_will_end", stripe_object("subscription")))
    _deliver(_event("plan.created", stripe_object("price"), "evt_fine"))
    staff = client_for(None, staff_with_mfa)
    page = staff.get("/admin/billing/webhookevent/").content.decode()
    assert page.count("icon-alert.svg") == 1
    assert "NotYetKnown: no subscription" in page
    only_failed = staff.get("/admin/billing/webhookevent/?status__exact=failed").content.decode()
    assert "evt_test_1" in only_failed and "evt_fine" not in only_failed
    failed = WebhookEvent.objects.get(event_id="evt_test_1")
    assert staff.get(f"/admin/billing/webhookevent/{failed.pk}/change/").status_code == 200


def test_events_a_lost_task_left_pending_are_picked_up(db):
    """After an outage longer than a task's reconnect attempts, nothing processes a pending
    event: the sweep queues it again, and leaves alone what is fresh or awaits its retry."""
    from datetime import timedelta

    from django.utils import timezone

    from nexuscore.billing.webhooks import pick_up_stale_events

    now = timezone.now()

    def pending(event_id, *, age_minutes, retry_in_minutes=None):
        webhook = WebhookEvent.objects.create(
            event_id=event_id, event_type="bench.unknown", payload={"id": event_id}
        )
        retry = None if retry_in_minutes is None else now + timedelta(minutes=retry_in_minutes)
        WebhookEvent.objects.filter(pk=webhook.pk).update(
            updated_at=now - timedelta(minutes=age_minutes), next_attempt_at=retry
        )
        return webhook

    lost = pending("evt_lost", age_minutes=11)
    lost_retry = pending("evt_lost_retry", age_minutes=40, retry_in_minutes=-20)
    fresh = pending("evt_fresh", age_minutes=1)
    awaiting_retry = pending("evt_awaiting", age_minutes=30, retry_in_minutes=5)

    assert pick_up_stale_events(now) == 2  # tasks run inline in tests
    statuses = dict(WebhookEvent.objects.values_list("event_id", "status"))
    assert statuses[lost.event_id] == statuses[lost_retry.event_id] == "ignored"
    assert statuses[fresh.event_id] == statuses[awaiting_retry.event_id] == "pending"
    assert pick_up_stale_events(now) == 0

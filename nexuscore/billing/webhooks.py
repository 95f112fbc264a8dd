"""The Stripe webhook: verify, de-duplicate on the event id, store, hand off, process.

Stripe delivers each event at least once and in any order. The endpoint answers at once: it
checks the signature (300 s tolerance), stores a WebhookEvent and enqueues its processing in the
same transaction (django-q2's queue is a table in the same database), and says 200. A second
delivery of a stored event changes nothing, and a signed body we could not store whole (see
_storable_event) is a 400 that stores nothing. Processing runs a handler per event type
(handlers.py); an event whose handler fails is tried again with exponential backoff, up to
settings.WEBHOOK_MAX_ATTEMPTS, then fails for good. An event that contradicts our records
(handlers.OrganisationMismatch) fails for good at once, recorded in the platform's audit log.
Either way every active staff member is emailed a link to it in the staff admin, which can
replay it. Types with no handler are stored and marked ignored.
"""

import json
import logging
import re
from datetime import timedelta

import stripe
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_q.models import Schedule
from django_q.tasks import async_task
from django_tenants.utils import get_public_schema_name

from nexuscore.audit.models import record_event
from nexuscore.billing.handlers import HANDLERS, OrganisationMismatch
from nexuscore.billing.models import WebhookEvent
from nexuscore.health.alerts import tell_staff_once_an_hour
from nexuscore.lib.errors import report_error
from nexuscore.lib.tasks import survives_reconnect

log = logging.getLogger(__name__)
TOLERANCE_SECONDS = 300


EVENT_ID = re.compile(r"evt_\w{1,250}", re.ASCII)
EVENT_TYPE = re.compile(r"[a-z0-9_.]{1,100}")
# Stripe's objects nest about ten deep; far deeper is not an event of theirs, and would only
# reach the json module's recursion limit later, in the worker or in PostgreSQL.
MAX_DEPTH = 32


def _deeper_than(value, limit: int) -> bool:
    """Whether lists and objects nest more than `limit` deep in `value` (without recursion)."""
    level = [value]
    for _ in range(limit + 1):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return False
    return True


def _storable_event(body: bytes) -> tuple[dict, str, str]:
    """The event in a signed body, with its id and type; ValueError for anything we could not
    store whole or process (found by tests/test_bad_input.py and test_bad_input_webhook.py).

    The json module raises RecursionError for deep nesting, outside the errors it documents,
    and reads 1e999 and NaN as floats no JSON column holds; PostgreSQL keeps no NUL and no lone
    surrogate in text or JSON; Stripe's ids and types are short words.
    """
    try:
        event = json.loads(body)
    except RecursionError as error:
        raise ValueError("nested too deep") from error
    if not isinstance(event, dict):
        raise ValueError("not a JSON object")
    if _deeper_than(event, MAX_DEPTH):
        raise ValueError("nested too deep")
    json.dumps(event, ensure_ascii=False, allow_nan=False).encode()  # ValueError: inf, nan, \ud800
    if b"\\u0000" in body:
        raise ValueError("a NUL character in the payload")
    event_id, event_type = str(event["id"]), str(event["type"])
    if not (EVENT_ID.fullmatch(event_id) and EVENT_TYPE.fullmatch(event_type)):
        raise ValueError("not a Stripe event id or type")
    return event, event_id, event_type


@csrf_exempt  # Stripe signs its requests instead; a bad signature stores nothing
@require_POST
def stripe_webhook(request):
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        return HttpResponse("Stripe is not configured here.", status=400, content_type="text/plain")
    try:
        stripe.WebhookSignature.verify_header(
            request.body.decode("utf-8"),
            request.headers.get("Stripe-Signature", ""),
            secret,
            TOLERANCE_SECONDS,
        )
        event, event_id, event_type = _storable_event(request.body)
    except (stripe.SignatureVerificationError, ValueError, KeyError, TypeError):
        return HttpResponse("Invalid signature or payload.", status=400, content_type="text/plain")
    with transaction.atomic():
        webhook, created = WebhookEvent.objects.get_or_create(
            service="stripe",
            event_id=event_id,
            defaults={"event_type": event_type, "payload": event},
        )
        if created:
            async_task("nexuscore.billing.webhooks.process_webhook_event", str(webhook.pk))
    return JsonResponse({"received": True, "duplicate": not created})


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes after the first, second, third ... failure, at most 6 hours."""
    return timedelta(minutes=min(2 ** (attempts - 1), 360))


@survives_reconnect  # a database restart mid-way rolls it all back; it then runs again
def process_webhook_event(webhook_id: str) -> str:
    """Apply one stored event; safe to run twice (a processed event is left alone)."""
    with transaction.atomic():
        webhook = WebhookEvent.objects.select_for_update().get(pk=webhook_id)
        if webhook.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED):
            return webhook.status
        handler = HANDLERS.get(webhook.event_type)
        now = timezone.now()
        failed_before = webhook.status == WebhookEvent.Status.FAILED
        if handler is None:
            webhook.status, webhook.processed_at = WebhookEvent.Status.IGNORED, now
        else:
            try:
                with transaction.atomic():
                    handler(webhook.payload)
            except OrganisationMismatch as error:  # trying again would change nothing
                log.error("webhook %s refused: %s", webhook.event_id, error)
                _refuse(webhook, error)
            except Exception as error:  # any failure is recorded and retried, never lost
                log.warning("webhook %s failed: %r", webhook.event_id, error)
                report_error(error, stripe_event=webhook.event_id, event_type=webhook.event_type)
                _schedule_retry(webhook, error, now)
            else:
                webhook.status, webhook.processed_at, webhook.error = (
                    WebhookEvent.Status.PROCESSED,
                    now,
                    "",
                )
        webhook.save()
        if webhook.status == WebhookEvent.Status.FAILED and not failed_before:
            # Queued in this transaction: staff hear of it only if the failure is recorded.
            async_task("nexuscore.billing.webhooks.tell_staff_event_failed", str(webhook.pk))
        return webhook.status


def _refuse(webhook, error: OrganisationMismatch) -> None:
    """Fail for good an event that contradicts our records, and record it for the platform."""
    webhook.attempts += 1
    webhook.status, webhook.next_attempt_at = WebhookEvent.Status.FAILED, None
    webhook.error = f"Refused: {error}"
    record_event(
        "billing.webhook_refused",
        data={
            "stripe_event": webhook.event_id,
            "event_type": webhook.event_type,
            "reason": str(error),
            **error.details,
        },
        schema_name=get_public_schema_name(),
    )


def tell_staff_event_failed(webhook_id: str) -> int:
    """Task: email every active staff member about an event that failed for good, with a link
    to it in the staff admin. Nothing if it was replayed successfully in the meantime, or if
    staff were emailed about another failed event in the last hour (the operations page and
    the admin's "Failed" filter list them all)."""
    webhook = WebhookEvent.objects.filter(pk=webhook_id).first()
    if webhook is None or webhook.status != WebhookEvent.Status.FAILED:
        return 0
    path = reverse(
        "admin:billing_webhookevent_change",
        args=[webhook.pk],
        urlconf=settings.PUBLIC_SCHEMA_URLCONF,
    )
    context = {"webhook": webhook, "admin_url": f"{settings.SITE_URL}{path}"}
    return tell_staff_once_an_hour(
        "stripe-event-failed",
        f"Stripe event {webhook.event_id} ({webhook.event_type}) failed for good",
        render_to_string("emails/staff_webhook_failed.txt", context),
    )


def _schedule_retry(webhook, error, now) -> None:
    webhook.attempts += 1
    webhook.error = f"{type(error).__name__}: {error}"
    if webhook.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        webhook.status, webhook.next_attempt_at = WebhookEvent.Status.FAILED, None
        return
    webhook.status = WebhookEvent.Status.PENDING
    webhook.next_attempt_at = now + backoff(webhook.attempts)
    Schedule.objects.create(
        name=f"retry webhook {webhook.pk} #{webhook.attempts}",
        func="nexuscore.billing.webhooks.process_webhook_event",
        args=repr(str(webhook.pk)) + ",",
        schedule_type=Schedule.ONCE,
        repeats=1,
        next_run=webhook.next_attempt_at,
    )


STALE_AFTER = timedelta(minutes=10)


def pick_up_stale_events(now=None) -> int:
    """Queue again every pending event nothing will process: one whose task was lost (the
    database was down for longer than the task's reconnect attempts, or its worker died past
    its retries) or whose retry schedule never ran. A healthy event is processed within seconds,
    so ten minutes without progress means lost. Processing twice is harmless; returns how many
    were queued."""
    now = now or timezone.now()
    stale = WebhookEvent.objects.filter(
        status=WebhookEvent.Status.PENDING, updated_at__lte=now - STALE_AFTER
    ).filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now - STALE_AFTER))
    webhook_ids = [str(pk) for pk in stale.values_list("pk", flat=True)[:1000]]
    for webhook_id in webhook_ids:
        async_task("nexuscore.billing.webhooks.process_webhook_event", webhook_id)
    if webhook_ids:
        log.warning("webhooks: %d stale pending event(s) queued again", len(webhook_ids))
    return len(webhook_ids)


def replay(webhook: WebhookEvent) -> str:
    """Staff: process a failed or ignored event again, now (for example after a fix)."""
    WebhookEvent.objects.filter(pk=webhook.pk).update(
        status=WebhookEvent.Status.PENDING, attempts=0, next_attempt_at=None
    )
    return process_webhook_event(str(webhook.pk))

"""The Stripe webhook: verify, de-duplicate on the event id, store, hand off, process.

Stripe delivers each event at least once and in any order. The endpoint answers at once: it
checks the signature (300 s tolerance), stores a WebhookEvent and enqueues its processing in the
same transaction (django-q2's queue is a table in the same database), and says 200. A second
delivery of a stored event changes nothing. Processing runs a handler per event type
(handlers.py); an event whose handler fails is tried again with exponential backoff, up to
settings.WEBHOOK_MAX_ATTEMPTS, then shows as failed in the staff admin, which can replay it.
Types with no handler are stored and marked ignored.
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
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_q.models import Schedule
from django_q.tasks import async_task

from nexuscore.billing.handlers import HANDLERS
from nexuscore.billing.models import WebhookEvent
from nexuscore.lib.tasks import survives_reconnect

log = logging.getLogger(__name__)
TOLERANCE_SECONDS = 300


EVENT_ID = re.compile(r"evt_\w{1,250}", re.ASCII)
EVENT_TYPE = re.compile(r"[a-z0-9_.]{1,100}")


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
        event = json.loads(request.body)
        event_id, event_type = str(event["id"]), str(event["type"])
        # Signed but unstorable (found by tests/test_bad_input.py): PostgreSQL keeps no NUL in
        # text or JSON, and Stripe's ids and types are short words.
        if not (EVENT_ID.fullmatch(event_id) and EVENT_TYPE.fullmatch(event_type)):
            raise ValueError("not a Stripe event id or type")
        if b"\\u0000" in request.body:
            raise ValueError("a NUL character in the payload")
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError, KeyError, TypeError):
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
        if handler is None:
            webhook.status, webhook.processed_at = WebhookEvent.Status.IGNORED, now
        else:
            try:
                with transaction.atomic():
                    handler(webhook.payload)
            except Exception as error:  # any failure is recorded and retried, never lost
                log.warning("webhook %s failed: %r", webhook.event_id, error)
                _schedule_retry(webhook, error, now)
            else:
                webhook.status, webhook.processed_at, webhook.error = (
                    WebhookEvent.Status.PROCESSED,
                    now,
                    "",
                )
        webhook.save()
        return webhook.status


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

"""The outbox: mail that records itself is stored with the change and sent after the commit.

Work that sends an email and records that it did (the paid invoice, digests, trial reminders,
quota and dunning notices, privacy reminders) runs in tasks, which run again after a failure.
Sending inside the transaction that records it meant a connection lost after sending and before
the commit sent the mail again on the retry. Instead:

1. `queue_email(..., dedupe_key=...)` stores an OutboundEmail in the caller's transaction. The
   key names what the message is about ("invoice-paid:<invoice id>"); queueing a key that is
   stored already stores nothing, so retried work queues each message once. Rolled back, the
   message is gone with the rest of the change and nothing is sent.
2. When that transaction commits (`transaction.on_commit`), a django-q2 task
   (`send_queued_email`) sends it under the row's lock (a second worker skips a locked row and
   finds it sent afterwards: two workers never both send) and marks it sent.
3. A send that fails is recorded (`attempts`, `last_error`) and tried again after 1, 2, 4 ...
   minutes, MAX_ATTEMPTS times in all; then it is given up and left for staff to see in the
   staff admin (Mail > Outbound emails), which can send it again.
4. The schedule `outbox: send unsent mail` (every minute, `send_unsent`) sends what is due: those
   retries, and any message whose task was lost (the process ended between the commit and the
   enqueue, or the task failed for good) LOST_AFTER after it was queued.

The one window left is "sent, but not yet marked sent": if the connection is lost after the
mail provider accepted a message and before `sent_at` is committed, it is sent again. Every
attempt carries the same Message-ID, so mail programs show such a repeat as one message.

Sent and given-up messages are deleted KEEP_FOR after they were queued (`delete_old_mail`,
daily): they hold personal data, and nothing retries that late.
"""

import logging
from datetime import timedelta
from functools import partial

from django.core.mail import make_msgid
from django.db import connection, transaction
from django.utils import timezone
from django_q.tasks import async_task

from nexuscore.lib.tasks import survives_reconnect
from nexuscore.mail.models import OutboundAttachment, OutboundEmail

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # 1 + 2 + 4 + ... + 64 minutes: about two hours of a provider's outage
# A message's own task normally sends it within seconds; one still unsent this long after it
# was queued (or handed out again by the schedule) has lost its task.
LOST_AFTER = timedelta(minutes=5)
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
KEEP_FOR = timedelta(days=30)
BATCH = 500  # messages the schedule hands out per run

SEND_TASK = "nexuscore.mail.outbox.send_queued_email"


def queue_email(
    *,
    to,
    subject: str,
    body: str,
    dedupe_key: str,
    html_body: str = "",
    cc=(),
    reply_to=(),
    from_email: str | None = None,
    attachments=(),
    schema_name: str | None = None,
) -> OutboundEmail | None:
    """Store a message to send once the caller's transaction commits (see the module's
    docstring); `attachments` are (filename, bytes, mimetype). Returns the stored message (the
    earlier one when `dedupe_key` was queued before), or None when there is nobody to send to.
    """
    to = [address for address in to if address]
    if not to:
        return None
    attachments = list(attachments)
    if sum(len(content) for _, content, _ in attachments) > MAX_ATTACHMENT_BYTES:
        raise ValueError(f"attachments of {dedupe_key!r} are over {MAX_ATTACHMENT_BYTES} bytes")
    with transaction.atomic():
        email, created = OutboundEmail.objects.get_or_create(
            dedupe_key=dedupe_key,
            defaults={
                "schema_name": schema_name or connection.schema_name,
                "from_email": from_email or "",
                "to": to,
                "cc": list(cc),
                "reply_to": list(reply_to),
                "subject": subject,
                "body": body,
                "html_body": html_body,
                "message_id": make_msgid(),
                "next_attempt_at": timezone.now() + LOST_AFTER,
            },
        )
        if created:
            OutboundAttachment.objects.bulk_create(
                OutboundAttachment(email=email, filename=name, content=content, mimetype=mimetype)
                for name, content, mimetype in attachments
            )
            transaction.on_commit(partial(async_task, SEND_TASK, email.pk))
    return email


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes after the first, second, third ... failed attempt."""
    return timedelta(minutes=2 ** (attempts - 1))


@survives_reconnect
def send_queued_email(email_id: int) -> bool:
    """Task: send one queued message unless it is sent, given up, or being sent by another
    worker right now; True when this call sent it. Safe to run twice."""
    with transaction.atomic():
        email = (
            OutboundEmail.objects.waiting()
            .select_for_update(skip_locked=True)
            .filter(pk=email_id)
            .first()
        )
        if email is None:
            return False
        email.attempts += 1
        try:
            email.message().send()
        except Exception as error:  # the provider's or the network's: recorded and retried
            email.last_error = f"{type(error).__name__}: {error}"
            if email.attempts >= MAX_ATTEMPTS:
                email.next_attempt_at = None
                log.error("outbox: gave up on %s after %d attempts", email.pk, email.attempts)
            else:
                email.next_attempt_at = timezone.now() + backoff(email.attempts)
                log.warning("outbox: sending %s failed: %s", email.pk, email.last_error)
            email.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            return False
        email.sent_at, email.next_attempt_at = timezone.now(), None
        email.save(update_fields=["attempts", "sent_at", "next_attempt_at"])
    return True


def send_unsent(now=None) -> int:
    """Schedule (every minute): hand every due message to a send task (a failed send's retry,
    or a message whose task was lost). Returns how many were handed out."""
    now = now or timezone.now()
    with transaction.atomic():
        # A row locked now is being sent; it is left to that worker.
        email_ids = list(
            OutboundEmail.objects.due(now)
            .order_by("next_attempt_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:BATCH]
        )
        # Should this task be lost too, the next run after LOST_AFTER hands them out again.
        OutboundEmail.objects.filter(pk__in=email_ids).update(next_attempt_at=now + LOST_AFTER)
        for email_id in email_ids:
            transaction.on_commit(partial(async_task, SEND_TASK, email_id))
    if email_ids:
        log.info("outbox: %d unsent message(s) handed out again", len(email_ids))
    return len(email_ids)


def send_again(emails) -> int:
    """Staff: try the given unsent messages again now, with a fresh count of attempts (after
    the cause of their failure is fixed). Returns how many were queued."""
    now = timezone.now()
    with transaction.atomic():
        email_ids = list(emails.filter(sent_at__isnull=True).values_list("pk", flat=True))
        OutboundEmail.objects.filter(pk__in=email_ids).update(
            attempts=0, next_attempt_at=now + LOST_AFTER
        )
        for email_id in email_ids:
            transaction.on_commit(partial(async_task, SEND_TASK, email_id))
    return len(email_ids)


def delete_old_mail(now=None) -> int:
    """Schedule (daily): delete messages sent or given up more than KEEP_FOR ago."""
    now = now or timezone.now()
    old = OutboundEmail.objects.filter(created_at__lt=now - KEEP_FOR, next_attempt_at__isnull=True)
    _, deleted = old.delete()
    return deleted.get("mail.OutboundEmail", 0)

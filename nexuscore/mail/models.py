"""OutboundEmail: one message in the outbox, with its attachments (OutboundAttachment)."""

from django.core.mail import EmailMultiAlternatives
from django.db import models
from django.db.models import Q


class OutboundEmailQuerySet(models.QuerySet):
    def waiting(self):
        return self.filter(sent_at__isnull=True, next_attempt_at__isnull=False)

    def given_up(self):
        return self.filter(sent_at__isnull=True, next_attempt_at__isnull=True)

    def due(self, now):
        """Unsent messages whose next attempt is due: a failed send's retry, or a message whose
        task was lost (see outbox.LOST_AFTER)."""
        return self.filter(sent_at__isnull=True, next_attempt_at__lte=now)


class OutboundEmail(models.Model):
    """A message queued by outbox.queue_email(). Waiting while `next_attempt_at` is set; sent
    once `sent_at` is; given up (for staff to look at) when neither is."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting"
        SENT = "sent", "Sent"
        GIVEN_UP = "given_up", "Given up"

    dedupe_key = models.CharField(
        max_length=200,
        unique=True,
        help_text='What the message is about, e.g. "invoice-paid:<invoice id>": queueing the '
        "same key again stores nothing.",
    )
    schema_name = models.CharField(
        max_length=63, help_text="The organisation's schema it was queued for (public: ours)."
    )
    from_email = models.CharField(
        max_length=320, blank=True, help_text="Empty: DEFAULT_FROM_EMAIL when it is sent."
    )
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list, blank=True)
    reply_to = models.JSONField(default=list, blank=True)
    subject = models.TextField()
    body = models.TextField()
    html_body = models.TextField(blank=True)
    # The same Message-ID on every attempt, so a message sent twice (see outbox.py) is one
    # message to the recipient's mail program.
    message_id = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    objects = OutboundEmailQuerySet.as_manager()

    class Meta:
        verbose_name = "outbound email"
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(sent_at__isnull=True),
                name="mail_unsent_next_attempt",
            )
        ]

    def __str__(self):
        return f"{self.subject} to {', '.join(self.to)}"

    @property
    def state(self) -> str:
        if self.sent_at:
            return self.State.SENT
        return self.State.WAITING if self.next_attempt_at else self.State.GIVEN_UP

    def message(self) -> EmailMultiAlternatives:
        """The message as Django sends it (send_mail builds the same kind)."""
        message = EmailMultiAlternatives(
            subject=self.subject,
            body=self.body,
            from_email=self.from_email or None,
            to=self.to,
            cc=self.cc,
            reply_to=self.reply_to,
            headers={"Message-ID": self.message_id},
        )
        if self.html_body:
            message.attach_alternative(self.html_body, "text/html")
        for attachment in self.attachments.order_by("pk"):
            # psycopg reads bytea as a memoryview
            message.attach(attachment.filename, bytes(attachment.content), attachment.mimetype)
        return message


class OutboundAttachment(models.Model):
    """A file sent with a message, stored as bytes in the row: the message is then whole in the
    database, whichever process sends it (uploaded files are on the local disk of the process
    that wrote them), and unchanged if the file is replaced later. For small files only (an
    invoice PDF); outbox.MAX_ATTACHMENT_BYTES is the limit per message."""

    email = models.ForeignKey(OutboundEmail, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content = models.BinaryField()
    mimetype = models.CharField(max_length=100)

    def __str__(self):
        return self.filename

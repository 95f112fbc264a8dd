"""DSARRequest: one person's request about their data.

A person files it with their email address; it counts from the moment they confirm that address
(`verified_at`), and the organisation has DEADLINE_DAYS from then to answer (`due_at`), the
30 calendar days the PDPC reads "as soon as reasonably possible" as.

The link in the confirmation email carries a random token; only its SHA-256 is stored
(`verification_token`), so the table cannot be used to open anyone's request.
"""

import hashlib
import math
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

DEADLINE_DAYS = 30  # the seed's DSAR_SLA_HOURS (720) in days
VERIFY_HOURS = 48  # how long the confirmation link works
EXPORT_DAYS = 7  # how long the download link of an access export works
REMIND_DAYS = 7  # owners and admins are reminded when this many days are left


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class DSARRequestQuerySet(models.QuerySet):
    def open(self):
        """Confirmed requests the organisation still has to answer."""
        return self.filter(status__in=DSARRequest.OPEN_STATUSES)

    def for_token(self, token: str):
        """The request whose link carries `token` (a queryset: empty for a wrong token)."""
        return self.filter(verification_token=token_hash(token or ""))


class DSARRequest(models.Model):
    class Type(models.TextChoices):
        ACCESS = "access", "Access: a copy of my data"
        DELETION = "deletion", "Deletion of my data"
        CORRECTION = "correction", "Correction of my data"
        WITHDRAW_CONSENT = "withdraw_consent", "Withdraw my consent"

    class Status(models.TextChoices):
        UNVERIFIED = "unverified", "Waiting for the email address to be confirmed"
        OPEN = "open", "To do"
        PROCESSING = "processing", "Export being prepared"
        APPROVED = "approved", "Deletion approved, to be carried out"
        FAILED = "failed", "Export failed"
        COMPLETED = "completed", "Done"
        REJECTED = "rejected", "Declined"
        EXPIRED = "expired", "Never confirmed"

    class Method(models.TextChoices):
        EMAIL_LINK = "email_link", "Link sent to the email address"

    # Confirmed and not finished: these have a deadline.
    OPEN_STATUSES = (Status.OPEN, Status.PROCESSING, Status.APPROVED, Status.FAILED)

    # What a correction may change, and the lead field each names.
    CORRECTABLE_FIELDS = {
        "name": "Name",
        "phone": "Phone number",
        "company": "Company",
        "job_title": "Job title",
    }

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254)
    # People are in the public schema; no database constraint, so a request (a record the
    # organisation must keep) outlives the account and is never in the way of closing it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    request_type = models.CharField(max_length=20, choices=Type)
    details = models.TextField(blank=True, default="")
    status = models.CharField(max_length=12, choices=Status, default=Status.UNVERIFIED)
    verification_token = models.CharField(max_length=64, unique=True, editable=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_method = models.CharField(max_length=20, choices=Method, default=Method.EMAIL_LINK)
    due_at = models.DateTimeField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    export_file = models.FileField(upload_to="privacy/exports/", blank=True)
    export_expires_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(blank=True, default="")
    requested_at = models.DateTimeField(auto_now_add=True)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    deletion_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    deletion_approved_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    # The correction asked for ({"field": ..., "value": ...}), what a deletion changed, why a
    # request was declined.
    metadata = models.JSONField(default=dict, blank=True)

    objects = DSARRequestQuerySet.as_manager()

    class Meta:
        verbose_name = "privacy request"
        ordering = ["-requested_at"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="privacy_request_due"),
            models.Index(fields=["-requested_at"], name="privacy_request_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    request_type__in=["access", "deletion", "correction", "withdraw_consent"]
                ),
                name="privacy_request_type_valid",
            ),
        ]

    def __str__(self):
        return f"{self.get_request_type_display()} for {self.email}"

    def get_absolute_url(self):
        """The page in the organisation's privacy inbox."""
        return reverse("privacy:detail", args=[self.pk], urlconf=settings.ROOT_URLCONF)

    def new_token(self) -> str:
        """Give the request a fresh link token; returns the token (only its hash is kept)."""
        token = secrets.token_urlsafe(32)
        self.verification_token = token_hash(token)
        return token

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def link_has_expired(self, now=None) -> bool:
        """An unconfirmed request's link works for VERIFY_HOURS."""
        now = now or timezone.now()
        return self.status == self.Status.EXPIRED or (
            self.status == self.Status.UNVERIFIED
            and self.requested_at + timedelta(hours=VERIFY_HOURS) < now
        )

    def days_left(self, now=None) -> int | None:
        """Whole days until the deadline (0 on its last day, negative once missed); None
        before the request is confirmed."""
        if self.due_at is None:
            return None
        seconds = (self.due_at - (now or timezone.now())).total_seconds()
        return math.floor(seconds / 86400)

    def days_overdue(self, now=None) -> int:
        """Whole days since the deadline passed (0 on the day it passed)."""
        if self.due_at is None:
            return 0
        seconds = ((now or timezone.now()) - self.due_at).total_seconds()
        return max(0, math.floor(seconds / 86400))

    def is_overdue(self, now=None) -> bool:
        return self.is_open and self.due_at is not None and self.due_at < (now or timezone.now())

    def export_is_available(self, now=None) -> bool:
        return bool(
            self.export_file
            and self.export_expires_at
            and self.export_expires_at > (now or timezone.now())
        )

    @property
    def correction(self) -> dict:
        return self.metadata.get("correction") or {}

    def correction_field_label(self) -> str:
        return self.CORRECTABLE_FIELDS.get(self.correction.get("field"), "")

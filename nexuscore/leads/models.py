"""Lead (architecture document, ERD): a person who may become a customer, with consent."""

import uuid

from django.conf import settings
from django.db import models


class Lead(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        CONTACTED = "contacted", "Contacted"
        QUALIFIED = "qualified", "Qualified"
        PROPOSAL = "proposal", "Proposal"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    class Source(models.TextChoices):
        CONTACT_FORM = "contact_form", "Contact form"
        CAPTURE_FORM = "capture_form", "Website form"
        IMPORT = "import", "Import"
        MANUAL = "manual", "Added by hand"
        REFERRAL = "referral", "Referral"
        EVENT = "event", "Event"
        OTHER = "other", "Other"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    email = models.EmailField(max_length=254, blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="")
    company = models.CharField(max_length=255, blank=True, default="")
    job_title = models.CharField(max_length=255, blank=True, default="")
    source = models.CharField(max_length=20, choices=Source, default=Source.MANUAL)
    status = models.CharField(max_length=20, choices=Status, default=Status.NEW)
    lost_reason = models.CharField(max_length=255, blank=True, default="")
    notes = models.TextField(blank=True, default="")
    utm_source = models.CharField("UTM source", max_length=255, blank=True, default="")
    utm_medium = models.CharField("UTM medium", max_length=255, blank=True, default="")
    utm_campaign = models.CharField("UTM campaign", max_length=255, blank=True, default="")
    utm_term = models.CharField("UTM term", max_length=255, blank=True, default="")
    utm_content = models.CharField("UTM content", max_length=255, blank=True, default="")
    form_data = models.JSONField(default=dict, blank=True)
    # People are in the public schema; a lead in an organisation's schema points across.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    next_follow_up = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    consent_purpose = models.CharField(max_length=255, blank=True, default="")
    consent_text = models.TextField(blank=True, default="")
    consent_version = models.CharField(max_length=20, blank=True, default="")
    consent_given_at = models.DateTimeField(null=True, blank=True)
    consent_withdrawn_at = models.DateTimeField(null=True, blank=True)
    # One lead per submitted form, however often the browser sends it.
    submission_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["-created_at"], name="lead_recent"),
            models.Index(fields=["status", "-created_at"], name="lead_status_recent"),
            models.Index(fields=["email"], name="lead_email"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["new", "contacted", "qualified", "proposal", "won", "lost"]
                ),
                name="lead_status_valid",
            ),
        ]

    def __str__(self):
        return f"{self.name} <{self.email}>" if self.email else self.name

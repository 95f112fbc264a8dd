"""Lead: a person who may become a customer, with consent.

Beside it: LeadNote (what people wrote about a lead), CaptureForm (the settings of a public
form such as /f/contact/), LeadImport (one CSV import and its progress) and FollowUpDigest (which
daily follow-up emails went out, so each goes once).
"""

import re
import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Concat, Upper
from django.urls import reverse
from django.utils import timezone


class GinIndex(models.Index):
    """A GIN index, which serves `@@` on a tsvector (django.contrib.postgres's GinIndex would
    do, but insists on that app being installed)."""

    def create_sql(self, model, schema_editor, using="", **kwargs):
        return super().create_sql(model, schema_editor, using=" USING gin", **kwargs)


class TsVectorField(models.Field):
    """A PostgreSQL tsvector column (django.contrib.postgres has one, but is not installed)."""

    def db_type(self, connection):
        return "tsvector"


class RegexpReplace(models.Func):
    function = "REGEXP_REPLACE"
    output_field = models.TextField()


class SimpleTsVector(models.Func):
    """to_tsvector with the 'simple' configuration: words lower-cased, never stemmed, so
    names, companies and email parts match as typed."""

    function = "to_tsvector"
    template = "%(function)s('simple'::regconfig, %(expressions)s)"
    output_field = TsVectorField()


@TsVectorField.register_lookup
class PrefixMatch(models.Lookup):
    """`search_document__prefix_match="wei:* & ling:*"`: the tsvector matches the tsquery."""

    lookup_name = "prefix_match"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} @@ to_tsquery('simple'::regconfig, {rhs})", [*lhs_params, *rhs_params]


def search_query(text: str) -> str:
    """The tsquery for what a person typed: every word as a prefix ("tan wei" finds "Tan Wei
    Ling"); a phone-like query also as one run of digits ("9123 4567" finds +6591234567)."""
    words = re.findall(r"\w+", text.lower())
    if not words:
        return ""
    query = " & ".join(f"{word}:*" for word in words)
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) >= 3 and re.fullmatch(r"[\d\s+()./-]+", text.strip()):
        query = f"({query}) | {digits}:*"
    return query


class LeadQuerySet(models.QuerySet):
    def search(self, query: str):
        """Leads with a word in their name, email, company or phone starting with each word of
        `query`, served by the GIN index on `search_document`."""
        tsquery = search_query(query)
        return self.filter(search_document__prefix_match=tsquery) if tsquery else self

    def due_by(self, moment):
        """Open leads whose next follow-up is at or before `moment`."""
        return self.filter(next_follow_up__lte=moment).exclude(status__in=CLOSED_STATUSES)


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
    # Set when a deletion request or the retention rule replaced the person's details: the row
    # stays, so it still counts in statistics, but nobody can be recognised in it.
    anonymised_at = models.DateTimeField(null=True, blank=True)
    # One lead per submitted form, however often the browser sends it.
    submission_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # What search-as-you-type looks in, computed by PostgreSQL on every write: the words of the
    # name and company, the email whole and in parts ("gmail"), and the phone in E.164, as
    # digits and without +65 (what people type). The embedded PostgreSQL has no pg_trgm, so
    # full-text prefix matching it is.
    search_document = models.GeneratedField(
        expression=SimpleTsVector(
            Concat(
                "name", models.Value(" "), "company", models.Value(" "), "email",
                models.Value(" "),
                RegexpReplace(
                    "email", models.Value("[@._+-]"), models.Value(" "), models.Value("g")
                ),
                models.Value(" "),
                RegexpReplace("phone", models.Value("[^0-9]"), models.Value(""), models.Value("g")),
                models.Value(" "),
                RegexpReplace("phone", models.Value("^[+]65"), models.Value("")),
                output_field=models.TextField(),
            )
        ),
        output_field=TsVectorField(),
        db_persist=True,
    )  # fmt: skip

    objects = LeadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The list orders by (created_at, id) so that pages never repeat or skip a lead;
            # these indexes give it the first page of 100,000 leads without sorting them.
            models.Index(fields=["-created_at", "-id"], name="lead_recent"),
            models.Index(fields=["status", "-created_at", "-id"], name="lead_status_recent"),
            models.Index(fields=["email"], name="lead_email"),
            # Privacy requests find a person's leads by email whatever its case (iexact).
            models.Index(Upper("email"), name="lead_email_upper"),
            models.Index(fields=["source", "-created_at", "-id"], name="lead_source_recent"),
            models.Index(fields=["assigned_to", "-created_at", "-id"], name="lead_assignee_recent"),
            models.Index(fields=["next_follow_up", "id"], name="lead_follow_up"),
            # "My follow-ups due" (the dashboard, the daily digest): open leads only.
            models.Index(
                fields=["assigned_to", "next_follow_up"],
                name="lead_assignee_due",
                condition=~models.Q(status__in=["won", "lost"]),
            ),
            models.Index(fields=["name", "id"], name="lead_name"),
            models.Index(fields=["company", "id"], name="lead_company"),
            GinIndex(fields=["search_document"], name="lead_search"),
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

    def get_absolute_url(self):
        # Lead pages are on organisation hosts: their URLconf, whatever host asks.
        return reverse("leads:detail", args=[self.pk], urlconf=settings.ROOT_URLCONF)

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    def follow_up_is_due(self, now=None) -> bool:
        return (
            self.next_follow_up is not None
            and not self.is_closed
            and self.next_follow_up <= (now or timezone.now())
        )


CLOSED_STATUSES = (Lead.Status.WON, Lead.Status.LOST)


class LeadNote(models.Model):
    """A note a person wrote about a lead; the timeline shows it beside the audit events."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="lead_notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["lead", "-created_at"], name="lead_note_recent")]

    def __str__(self):
        return self.text[:50]


class CaptureForm(models.Model):
    """A public form on the organisation's host (/f/<slug>/) that creates leads.

    The consent text is what the person agreed to; its version changes whenever the text does,
    and each lead keeps the text and version it was given.
    """

    DEFAULT_CONSENT = (
        "I agree that {organisation} may keep the details I give here and contact me about my "
        "enquiry, as described in its privacy notice. I can withdraw my consent at any time."
    )

    slug = models.SlugField(max_length=50, unique=True)
    title = models.CharField(max_length=120, default="Contact us")
    is_active = models.BooleanField(default=True)
    consent_purpose = models.CharField(max_length=255, default="Replying to my enquiry")
    consent_text = models.TextField(blank=True, default="")
    consent_version = models.CharField(max_length=20, default="1")
    assign_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who gets new leads from this form and the email about each; "
        "nobody chosen: the owner is told.",
    )
    thank_you = models.TextField(
        default="Thank you. We have your details and will be in touch within one working day."
    )
    # The first day the form refused a lead for the plan's limit in a period: the owner is told
    # once per period, not once per refused visitor.
    quota_notice_period = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.slug

    def consent_text_for(self, organisation_name: str) -> str:
        return self.consent_text or self.DEFAULT_CONSENT.format(organisation=organisation_name)


class LeadImport(models.Model):
    """One CSV import: the uploaded file, how its columns map to lead fields, and progress.

    The file and the report of rejected rows are kept in the organisation's media storage and
    only ever served through a view that checks permission.
    """

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Waiting for column mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Finished"
        FAILED = "failed", "Failed"

    class Duplicates(models.TextChoices):
        SKIP = "skip", "Skip rows whose email is already a lead"
        UPDATE = "update", "Update the existing lead with the row's values"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    file = models.FileField(upload_to="imports/")
    original_name = models.CharField(max_length=255)
    encoding = models.CharField(max_length=20, default="utf-8")
    delimiter = models.CharField(max_length=1, default=",")
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, blank=True)  # column index (str) -> lead field
    duplicates = models.CharField(max_length=10, choices=Duplicates, default=Duplicates.SKIP)
    status = models.CharField(max_length=10, choices=Status, default=Status.UPLOADED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    # [row number, reason, cells] per rejected row, appended with each chunk's leads, so the
    # report lists every one even when the task was interrupted and resumed.
    rejects = models.JSONField(default=list, blank=True)
    report = models.FileField(upload_to="imports/", blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    # When a chunk last went in, and how often a stalled run was started again since then
    # (nexuscore.leads.imports.resume_stalled_imports).
    progressed_at = models.DateTimeField(null=True, blank=True)
    resumes = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.original_name

    def get_absolute_url(self):
        return reverse("leads:import_progress", args=[self.pk], urlconf=settings.ROOT_URLCONF)

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.processed / self.total))

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class FollowUpDigest(models.Model):
    """The daily follow-up email sent to one person on one day (so it goes once)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    lead_count = models.PositiveIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="one_follow_up_digest_a_day")
        ]

    def __str__(self):
        return f"{self.user_id} {self.day}"

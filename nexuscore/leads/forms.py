"""Forms of the leads pages and of the public capture form.

`normalise_phone` is shared with the CSV import: a Singapore number becomes +65XXXXXXXX, an
international number given with + stays in E.164.
"""

import re
import uuid
from datetime import datetime, time

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from nexuscore.leads.models import CaptureForm, Lead, LeadImport
from nexuscore.lib.forms import DayField, TrackingField, validate_day_in_range

PHONE_HELP = "A Singapore number (8 digits) or an international number starting with +."


def normalise_phone(raw: str) -> str:
    """The phone number in E.164; raises ValidationError when it cannot be one.

    Singapore numbers have 8 digits and start with 3, 6, 8 or 9; they may be written with 65,
    +65 or 0065 in front and with spaces, dashes, dots or brackets anywhere.
    """
    text = (raw or "").strip()
    if not text:
        return ""
    compact = re.sub(r"[\s\-().]", "", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not re.fullmatch(r"\+?\d+", compact):
        raise ValidationError(
            f"“{text}” is not a phone number. Use digits only, for example 9123 4567 or "
            "+44 20 7946 0958."
        )
    digits = compact.lstrip("+")
    if compact.startswith("+"):
        if digits.startswith("65") and not _is_singapore_local(digits[2:]):
            raise ValidationError(
                f"“{text}” is not a Singapore number: after +65 come 8 digits starting with "
                "3, 6, 8 or 9."
            )
        if not 8 <= len(digits) <= 15:
            raise ValidationError(
                f"“{text}” has {len(digits)} digits; an international number has 8 to 15 "
                "after the +."
            )
        return compact
    if _is_singapore_local(digits):
        return "+65" + digits
    if len(digits) == 10 and digits.startswith("65") and _is_singapore_local(digits[2:]):
        return "+" + digits
    raise ValidationError(
        f"“{text}” is not a Singapore number (8 digits starting with 3, 6, 8 or 9). For a number "
        "abroad, start with + and the country code."
    )


def _is_singapore_local(digits: str) -> bool:
    return len(digits) == 8 and digits[0] in "3689"


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return user.name or user.email


def member_queryset(tenant):
    from nexuscore.accounts.models import User

    return User.objects.filter(memberships__tenant=tenant).order_by("name", "email")


class LeadForm(forms.ModelForm):
    """Create or edit a lead. An email that another lead already has is allowed, but only after
    the person has seen a warning with a link to that lead and confirmed."""

    confirm_duplicate = forms.BooleanField(
        required=False,
        widget=forms.HiddenInput,
    )
    next_follow_up = forms.DateTimeField(
        required=False,
        label="Next follow-up",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text="In the organisation's time zone.",
        validators=[validate_day_in_range],
    )

    class Meta:
        model = Lead
        fields = [
            "name",
            "email",
            "phone",
            "company",
            "job_title",
            "source",
            "status",
            "lost_reason",
            "assigned_to",
            "next_follow_up",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}
        help_texts = {"phone": PHONE_HELP}
        field_classes = {"assigned_to": MemberChoiceField}

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.fields["assigned_to"].queryset = member_queryset(tenant)
        self.fields["assigned_to"].label = "Assigned to"
        self.fields["assigned_to"].empty_label = "Nobody yet"
        self.fields["lost_reason"].help_text = "Required when the status is Lost."
        self.duplicate = None

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError("Enter the person's name.")
        return name

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean_phone(self):
        return normalise_phone(self.cleaned_data["phone"])

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("status") == Lead.Status.LOST and not cleaned.get("lost_reason", "").strip():
            self.add_error("lost_reason", "Say why the lead was lost, for example “Chose a rival”.")
        if cleaned.get("status") != Lead.Status.LOST:
            cleaned["lost_reason"] = ""
        email = cleaned.get("email")
        if email and not cleaned.get("confirm_duplicate"):
            others = Lead.objects.filter(email=email)
            if self.instance.pk:
                others = others.exclude(pk=self.instance.pk)
            self.duplicate = others.only("id", "name", "email").first()
            if self.duplicate is not None:
                # Shown above the form with a link to the existing lead; submitting again
                # (with the hidden confirmation set) saves anyway.
                self.data = self.data.copy()
                self.data["confirm_duplicate"] = "on"
                self.add_error(
                    "email",
                    f"{self.duplicate.name} already has this email. Open that lead, or save "
                    "again to keep both.",
                )
        return cleaned


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Lead.Status.choices)
    lost_reason = forms.CharField(
        max_length=255,
        required=False,
        label="Why was it lost?",
        help_text="Required when the status is Lost.",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("status") == Lead.Status.LOST and not cleaned.get("lost_reason", "").strip():
            self.add_error("lost_reason", "Say why the lead was lost, for example “Chose a rival”.")
        return cleaned


class AssignForm(forms.Form):
    assigned_to = MemberChoiceField(queryset=None, required=False, empty_label="Nobody")

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = member_queryset(tenant)


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Note",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write the note before saving it."},
    )


class FollowUpForm(forms.Form):
    day = DayField(
        label="Follow up on",
        required=False,
        help_text="Leave empty to clear the follow-up.",
    )
    at = forms.TimeField(
        label="At",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="In the organisation's time zone; 9:00 if left empty.",
    )

    def follow_up_at(self, tenant) -> datetime | None:
        day = self.cleaned_data.get("day")
        if day is None:
            return None
        at = self.cleaned_data.get("at") or time(9, 0)
        return datetime.combine(day, at, tzinfo=tenant.zone)


class LeadIdsField(forms.Field):
    """The ids of the ticked leads (checkboxes named `leads`)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Tick at least one lead first.",
        "invalid": "One of the ticked leads does not exist.",
    }

    def to_python(self, value):
        values = value if isinstance(value, list | tuple) else ([value] if value else [])
        try:
            return [uuid.UUID(str(item)) for item in values]
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class BulkForm(forms.Form):
    ACTIONS = [("assign", "Assign to"), ("status", "Change status to"), ("delete", "Delete")]

    action = forms.ChoiceField(choices=ACTIONS)
    leads = LeadIdsField()
    status = forms.ChoiceField(choices=[("", "Status…"), *Lead.Status.choices], required=False)
    lost_reason = forms.CharField(max_length=255, required=False)
    assigned_to = MemberChoiceField(queryset=None, required=False, empty_label="Nobody")
    confirm = forms.BooleanField(required=False)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = member_queryset(tenant)

    def clean(self):
        cleaned = super().clean()
        action = cleaned.get("action")
        if action == "status":
            if not cleaned.get("status"):
                self.add_error("status", "Choose the new status.")
            elif cleaned["status"] == Lead.Status.LOST and not cleaned.get("lost_reason"):
                self.add_error("lost_reason", "Say why these leads were lost.")
        return cleaned


class LeadFilterForm(forms.Form):
    """The list's search, filters and sort, read from the query string (all optional)."""

    # Each order ends with the primary key, so pages never repeat or skip a lead, and matches
    # an index of Lead, so the first page of 100,000 leads needs no sort.
    SORTS = {
        "-created": (("-created_at", "-id"), "Newest first"),
        "created": (("created_at", "id"), "Oldest first"),
        "name": (("name", "id"), "Name A to Z"),
        "-name": (("-name", "-id"), "Name Z to A"),
        "company": (("company", "id"), "Company A to Z"),
        "follow_up": (("next_follow_up", "id"), "Follow-up soonest"),
        "status": (("status", "-created_at", "-id"), "Status, then newest"),
    }
    DUE = [("", "Any follow-up"), ("today", "Due today or overdue"), ("week", "Due this week")]

    q = forms.CharField(required=False, max_length=100, label="Search")
    status = forms.ChoiceField(choices=[("", "Any status"), *Lead.Status.choices], required=False)
    source = forms.ChoiceField(choices=[("", "Any source"), *Lead.Source.choices], required=False)
    assigned = forms.ChoiceField(required=False, label="Assigned to")
    created_from = DayField(required=False, label="Created from")
    created_to = DayField(required=False, label="Created to")
    due = forms.ChoiceField(choices=DUE, required=False, label="Follow-up")
    sort = forms.ChoiceField(
        choices=[(key, label) for key, (_, label) in SORTS.items()], required=False
    )

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned"].choices = (
            [("", "Anyone"), ("me", "Me"), ("none", "Nobody")]
            + [(str(user.pk), user.name or user.email) for user in members]
        )  # fmt: skip

    def clean_created_to(self):
        created_from = self.cleaned_data.get("created_from")
        created_to = self.cleaned_data.get("created_to")
        if created_from and created_to and created_to < created_from:
            raise ValidationError("The end date comes before the start date.")
        return created_to

    def filter(self, leads, *, user, tenant):
        """`leads` narrowed and ordered by the valid parts of the form; invalid parts are
        ignored (a mistyped bookmark still shows leads)."""
        self.is_valid()  # cleaned_data then holds the fields that are valid
        data = self.cleaned_data
        zone = tenant.zone
        if data.get("q"):
            leads = leads.search(data["q"])
        if data.get("status"):
            leads = leads.filter(status=data["status"])
        if data.get("source"):
            leads = leads.filter(source=data["source"])
        assigned = data.get("assigned")
        if assigned == "me":
            leads = leads.filter(assigned_to=user)
        elif assigned == "none":
            leads = leads.filter(assigned_to__isnull=True)
        elif assigned:
            leads = leads.filter(assigned_to_id=assigned)
        if data.get("created_from"):
            start = datetime.combine(data["created_from"], time.min, tzinfo=zone)
            leads = leads.filter(created_at__gte=start)
        if data.get("created_to"):
            end = datetime.combine(data["created_to"], time.max, tzinfo=zone)
            leads = leads.filter(created_at__lte=end)
        if data.get("due"):
            today = timezone.now().astimezone(zone).date()
            days = 1 if data["due"] == "today" else 7 - today.weekday()
            end = datetime.combine(today, time.min, tzinfo=zone) + timezone.timedelta(days=days)
            leads = leads.due_by(end - timezone.timedelta(microseconds=1))
        return leads.order_by(*self.ordering())

    def ordering(self) -> tuple[str, ...]:
        return self.SORTS.get(self.cleaned_data.get("sort") or "-created", self.SORTS["-created"])[
            0
        ]


class LeadImportUploadForm(forms.Form):
    MAX_BYTES = 20 * 1024 * 1024

    file = forms.FileField(
        label="CSV file",
        help_text="Exported from Excel, Google Sheets or another CRM: UTF-8 or Excel's CSV, "
        "commas or semicolons. Up to 20 MB.",
    )
    duplicates = forms.ChoiceField(
        choices=LeadImport.Duplicates.choices,
        initial=LeadImport.Duplicates.SKIP,
        widget=forms.RadioSelect,
        label="When a row's email is already a lead",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise ValidationError("The file is larger than 20 MB; split it into smaller files.")
        if upload.size == 0:
            raise ValidationError("The file is empty; choose the CSV file with your leads.")
        return upload


class CaptureSubmissionForm(forms.Form):
    """What a visitor fills in on the public form. `website` is the honeypot: people never see
    it, bots fill every field they find."""

    name = forms.CharField(max_length=255, error_messages={"required": "Enter your name."})
    email = forms.EmailField(
        max_length=254,
        error_messages={
            "required": "Enter your email address so we can reply.",
            "invalid": "Enter an email address like name@company.sg.",
        },
    )
    phone = forms.CharField(max_length=40, required=False, help_text=PHONE_HELP)
    company = forms.CharField(max_length=255, required=False)
    message = forms.CharField(
        max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    consent = forms.BooleanField(
        error_messages={"required": "Tick the box to agree, or we cannot keep your details."}
    )
    website = forms.CharField(required=False, label="Leave this empty")
    # Hidden values from the landing page: people cannot see or fix them, so they never cause
    # an error (an over-long UTM parameter is cut, not refused).
    submission_key = TrackingField(64)
    utm_source = TrackingField(255)
    utm_medium = TrackingField(255)
    utm_campaign = TrackingField(255)
    utm_term = TrackingField(255)
    utm_content = TrackingField(255)

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError("Enter your name.")
        return name

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean_phone(self):
        return normalise_phone(self.cleaned_data["phone"])

    def clean_submission_key(self):
        key = self.cleaned_data["submission_key"].strip()
        if key and not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", key):
            return ""  # a mangled key is no key: the server derives one instead
        return key


class CaptureFormSettingsForm(forms.ModelForm):
    class Meta:
        model = CaptureForm
        fields = ["title", "is_active", "assign_to", "consent_purpose", "consent_text", "thank_you"]
        labels = {
            "is_active": "Accept new submissions",
            "assign_to": "Assign new leads to",
            "consent_text": "Consent text",
            "thank_you": "Thank-you message",
        }
        help_texts = {
            "consent_text": "What visitors agree to. Leave empty for the standard wording. "
            "Changing it starts a new consent version; each lead keeps the text it was given.",
        }
        widgets = {
            "consent_text": forms.Textarea(attrs={"rows": 3}),
            "thank_you": forms.Textarea(attrs={"rows": 2}),
        }
        field_classes = {"assign_to": MemberChoiceField}

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assign_to"].queryset = member_queryset(tenant)
        self.fields["assign_to"].empty_label = "Nobody (the owner is told)"

"""The contact form: what a visitor tells NexusCore's sales team, with their consent.

Besides the visible fields it carries, in hidden fields, where the visitor came from (UTM
parameters, the referrer and the landing page) and a submission key made when the form is shown,
so that a form sent twice becomes one lead. `website` is a honeypot: people never see it, bots
that fill every field do.
"""

import unicodedata
import uuid

from django import forms
from django.contrib.auth.base_user import BaseUserManager

from nexuscore.leads.forms import PHONE_HELP, normalise_phone
from nexuscore.lib.forms import TrackingField, problem_characters, text_field

# The consent a visitor gives by ticking the box, stored word for word with the lead. Change the
# version whenever the text changes, so each lead records which wording the person agreed to.
CONSENT_VERSION = "2026-11"
CONSENT_PURPOSE = "Replying to a contact-form enquiry about NexusCore's services"
CONSENT_TEXT = (
    "I agree that NexusCore Pte. Ltd. may use the details in this form to reply to my enquiry "
    "and to follow up with me about NexusCore's services. I can withdraw my consent at any "
    "time by writing to dpo@nexuscore.test."
)

UTM_PARAMETERS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


class SubmissionKeyField(forms.CharField):
    """The key that makes a form sent twice one lead.

    A missing or unreadable key (a request made by hand) is replaced by a fresh one: the form
    still works, it just cannot be recognised when it is sent again.
    """

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def to_python(self, value):
        try:
            return uuid.UUID(str(value or "").strip()).hex
        except ValueError:
            return uuid.uuid4().hex


class ContactForm(forms.Form):
    name = text_field(
        "your name",
        255,
        label="Your name",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label="Work email",
        max_length=254,
        error_messages={
            "required": "Enter your work email address, so that we can reply.",
            "invalid": "Enter your work email address in the form name@company.com.sg.",
            "max_length": "Shorten your email address to at most %(limit_value)d characters.",
            "null_characters_not_allowed": (
                "Type your email address again: it contains invisible control characters."
            ),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    company = text_field(
        "your company's name",
        255,
        label="Company",
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    phone = text_field(
        "your phone number",
        32,
        label="Phone",
        required=False,
        help_text=f"If you would like a call back. {PHONE_HELP}",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    message = text_field(
        "your message",
        5000,
        label="How can we help?",
        help_text="Tell us about your team and what you would like NexusCore to do.",
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    consent = forms.BooleanField(
        label=CONSENT_TEXT,
        error_messages={
            "required": "Tick the box to let us use your details; we cannot reply without it."
        },
    )
    # The honeypot. Named like a field bots expect; hidden from people in the template.
    website = forms.CharField(
        label="Leave this field empty",
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )
    submission_key = SubmissionKeyField()
    utm_source = TrackingField(255)
    utm_medium = TrackingField(255)
    utm_campaign = TrackingField(255)
    utm_term = TrackingField(255)
    utm_content = TrackingField(255)
    referrer = TrackingField(2000)
    page = TrackingField(2000)

    @classmethod
    def for_landing(cls, request) -> "ContactForm":
        """A fresh form carrying where this visitor came from and a new submission key."""
        tracking = {
            "referrer": request.headers.get("Referer", ""),
            "page": request.build_absolute_uri(),
            **{name: request.GET.get(name, "") for name in UTM_PARAMETERS},
        }
        initial = {name: cls.base_fields[name].to_python(value) for name, value in tracking.items()}
        return cls(initial={**initial, "submission_key": uuid.uuid4().hex})

    def filled_honeypot(self) -> bool:
        """Whether the hidden `website` field was filled in: only bots do that."""
        return bool(self.data.get("website", "").strip())

    def clean_name(self):
        return self._clean_line("name", "your name")

    def clean_company(self):
        return self._clean_line("company", "your company's name")

    def clean_email(self):
        return BaseUserManager.normalize_email(self.cleaned_data["email"])

    def clean_phone(self):
        # Stored in E.164, like every lead's phone number, so that searching by number works.
        return normalise_phone(self._clean_line("phone", "your phone number"))

    def clean_message(self):
        message = unicodedata.normalize("NFC", self.cleaned_data["message"])
        problem = problem_characters(message, allow_line_breaks=True)
        if problem:
            raise forms.ValidationError(
                f"Your message {problem}; type or paste it again as plain text.",
                code="bad_characters",
            )
        return message

    def _clean_line(self, field: str, what: str) -> str:
        value = unicodedata.normalize("NFC", self.cleaned_data[field])
        problem = problem_characters(value)
        if problem:
            raise forms.ValidationError(
                f"{what[0].upper()}{what[1:]} {problem}; type it again.", code="bad_characters"
            )
        return value

"""The privacy request form (anyone, on both hosts) and the small forms of the privacy inbox.

Input from the public form is whatever a browser or a bot sends: every problem becomes an error
on the field concerned, in words that say how to fix it, never an exception.
"""

import unicodedata

from django import forms
from django.contrib.auth.base_user import BaseUserManager

from nexuscore.lib.forms import problem_characters, text_field
from nexuscore.privacy.models import DSARRequest
from nexuscore.privacy.tasks import RETENTION_CHOICES


class PrivacyRequestForm(forms.Form):
    email = forms.EmailField(
        label="Your email address",
        max_length=254,
        help_text="The address the organisation knows you by. We send a link to it to confirm "
        "that the request is yours.",
        error_messages={
            "required": "Enter your email address, so that we can confirm the request is yours.",
            "invalid": "Enter your email address in the form name@example.com.",
            "max_length": "Shorten your email address to at most %(limit_value)d characters.",
            "null_characters_not_allowed": (
                "Type your email address again: it contains invisible control characters."
            ),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    request_type = forms.ChoiceField(
        label="What would you like?",
        choices=DSARRequest.Type.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose what you would like us to do.",
            "invalid_choice": "Choose one of the four kinds of request listed.",
        },
    )
    correction_field = forms.ChoiceField(
        label="What should be corrected?",
        choices=[("", "Choose…"), *DSARRequest.CORRECTABLE_FIELDS.items()],
        required=False,
        error_messages={"invalid_choice": "Choose one of the details listed."},
    )
    correction_value = text_field(
        "the correct value", 255, label="The correct value", required=False
    )
    details = text_field(
        "the details",
        2000,
        label="Anything else we should know (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # The honeypot, hidden from people in the template.
    website = forms.CharField(required=False)

    def filled_honeypot(self) -> bool:
        return bool(str(self.data.get("website", "")).strip())

    def clean_email(self):
        return BaseUserManager.normalize_email(self.cleaned_data["email"]).strip()

    def clean_correction_value(self):
        return self._plain("correction_value", "The correct value")

    def clean_details(self):
        return self._plain("details", "The details", allow_line_breaks=True)

    def _plain(self, name, what, allow_line_breaks=False) -> str:
        value = unicodedata.normalize("NFC", self.cleaned_data.get(name) or "").strip()
        problem = problem_characters(value, allow_line_breaks=allow_line_breaks)
        if problem:
            raise forms.ValidationError(f"{what} {problem}; type it again.", code="bad_characters")
        return value

    def clean(self):
        data = super().clean()
        if data.get("request_type") == DSARRequest.Type.CORRECTION:
            if not data.get("correction_field") and "correction_field" not in self.errors:
                self.add_error("correction_field", "Choose which detail is wrong.")
            if not data.get("correction_value") and "correction_value" not in self.errors:
                self.add_error("correction_value", "Enter the correct value.")
        return data

    def correction(self) -> dict | None:
        data = self.cleaned_data
        if data["request_type"] != DSARRequest.Type.CORRECTION:
            return None
        return {"field": data["correction_field"], "value": data["correction_value"]}


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label="Why is the request declined?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The person is sent this reason.",
        error_messages={"required": "Enter the reason; the person is told it."},
    )


class RetentionForm(forms.Form):
    months = forms.TypedChoiceField(
        label="Keep lost and unconverted leads for",
        choices=RETENTION_CHOICES,
        coerce=int,
        help_text="Leads that were lost or never became customers, and that nobody has touched "
        "for this long, are anonymised every night: the rows stay in your statistics, the "
        "person's details go.",
        error_messages={"invalid_choice": "Choose one of the periods listed."},
    )

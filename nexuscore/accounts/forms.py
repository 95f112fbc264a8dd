"""Forms of the accounts app: the details added at sign-up, and the account page."""

import re

from django import forms

from nexuscore.lib.forms import zone_choices_with

# The kinds of email a person may turn off (User.email_preferences), with what they are.
EMAIL_PREFERENCES = {
    "trial": ("Trial reminders", "A note before your free trial ends."),
    "follow_ups": ("Follow-ups", "Tips and check-ins while you get started."),
    "product_news": ("Product news", "New features and changes, about once a month."),
}

_PHONE_CHARACTERS = re.compile(r"^\(?\+?[0-9 ()-]+$")  # "+65 …" or "(+65) …"
PHONE_HELP = (
    "Enter a Singapore number such as 9123 4567, or another country's number starting with +."
)


def _tidy(value: str) -> str:
    """The text with runs of whitespace made single spaces and the ends trimmed."""
    return " ".join(value.split())


def normalise_phone(value: str) -> str:
    """A phone number written the one way we store it: "+65 9123 4567" for Singapore numbers,
    "+<digits>" for others. Raises ValidationError when it is not a phone number."""
    if not _PHONE_CHARACTERS.match(value):
        raise forms.ValidationError(
            "Use only digits, spaces, brackets, hyphens and a leading +. " + PHONE_HELP
        )
    digits = re.sub(r"\D", "", value)
    if "+" in value:
        if digits.startswith("65"):
            digits = digits[2:]
        elif 8 <= len(digits) <= 15:
            return f"+{digits}"
        else:
            raise forms.ValidationError(
                "An international number has 8 to 15 digits after the +. " + PHONE_HELP
            )
    if len(digits) != 8 or digits[0] not in "3689":
        raise forms.ValidationError(
            "A Singapore number has 8 digits and starts with 3, 6, 8 or 9. " + PHONE_HELP
        )
    return f"+65 {digits[:4]} {digits[4:]}"


class SignupDetailsForm(forms.Form):
    """The fields allauth's sign-up form adds to email and password."""

    name = forms.CharField(
        max_length=255, label="Your name", widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    company = forms.CharField(max_length=255, required=False, label="Company")

    field_order = ["name", "company"]

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Tell us your name, as colleagues would know it.")
        return name

    def signup(self, request, user):
        user.name = self.cleaned_data["name"]
        user.company = self.cleaned_data.get("company", "")
        user.save(update_fields=["name", "company"])


class ProfileForm(forms.Form):
    """A person's own details and which email they want from us (the account page)."""

    name = forms.CharField(
        max_length=255,
        label="Your name",
        error_messages={"required": "Tell us your name, as colleagues would know it."},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    company = forms.CharField(
        max_length=255,
        required=False,
        label="Company",
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    phone = forms.CharField(
        max_length=30,
        required=False,
        label="Phone",
        help_text=PHONE_HELP,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    timezone = forms.ChoiceField(
        label="Time zone", help_text="Times in NexusCore are shown to you in this time zone."
    )
    trial = forms.BooleanField(required=False)
    follow_ups = forms.BooleanField(required=False)
    product_news = forms.BooleanField(required=False)

    def __init__(self, *args, user, **kwargs):
        initial = {
            "name": user.name,
            "company": user.company,
            "phone": user.phone,
            "timezone": user.timezone,
            **{kind: user.wants_email(kind) for kind in EMAIL_PREFERENCES},
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["timezone"].choices = zone_choices_with(user.timezone)
        for kind, (label, help_text) in EMAIL_PREFERENCES.items():
            self.fields[kind].label = label
            self.fields[kind].help_text = help_text

    def clean_name(self):
        name = _tidy(self.cleaned_data["name"])
        if not name:
            raise forms.ValidationError("Tell us your name, as colleagues would know it.")
        return name

    def clean_company(self):
        return _tidy(self.cleaned_data["company"])

    def clean_phone(self):
        phone = _tidy(self.cleaned_data["phone"])
        return normalise_phone(phone) if phone else ""

    def email_preferences_fields(self):
        return [self[kind] for kind in EMAIL_PREFERENCES]

    def changes(self) -> dict:
        """The cleaned values in the User's terms: its fields and `email_preferences`."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "company": data["company"],
            "phone": data["phone"],
            "timezone": data["timezone"],
            "email_preferences": {kind: data[kind] for kind in EMAIL_PREFERENCES},
        }

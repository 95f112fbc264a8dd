"""The organisation's own details, declared and checked in one place.

A new organisation (onboarding's sign-up) and an existing one (the settings page) are known by the
same fields: its name, UEN, GST registration and billing email. `OrganisationDetailsForm` declares
them and turns what people type into the values a Tenant stores; each page's form adds its own
fields (the subdomain and plan; the address, time zone and sign-in rule).
"""

from django import forms

from nexuscore.lib.singapore import gst_number_problem, normalise_identifier, uen_problem
from tenants.models import Tenant


class OrganisationDetailsForm(forms.Form):
    # What a UEN already registered by another organisation is told (each page says its own).
    uen_taken = "Another organisation on NexusCore is registered with this UEN."

    name = forms.CharField(
        label="Organisation name",
        max_length=255,
        error_messages={"required": "Enter your organisation's name."},
        help_text="As your customers know it, for example Lim Brothers Engineering Pte. Ltd.",
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    uen = forms.CharField(
        label="UEN",
        max_length=50,
        required=False,
        error_messages={"required": "Enter your organisation's UEN."},
        help_text="The Unique Entity Number ACRA gave your organisation, for example 201912345R.",
    )
    is_gst_registered = forms.BooleanField(label="Registered for GST", required=False)
    gst_number = forms.CharField(
        label="GST registration number",
        max_length=50,
        required=False,
        help_text="Needed when you are registered for GST: your UEN, or the M number IRAS gave "
        "you (for example M90364567L).",
    )
    billing_email = forms.EmailField(
        label="Billing email",
        max_length=254,
        required=False,
        error_messages={
            "required": "Enter the email address tax invoices should go to.",
            "invalid": "Enter a whole email address, like accounts@company.sg.",
        },
        help_text="Where tax invoices and receipts go.",
    )

    def __init__(self, *args, tenant: Tenant | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant  # None for a new organisation

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Enter your organisation's name.")
        return name

    def clean_uen(self):
        uen = normalise_identifier(self.cleaned_data["uen"])
        if not uen:
            return None
        problem = uen_problem(uen)
        if problem:
            raise forms.ValidationError(problem)
        others = Tenant.objects.filter(uen=uen)
        if self.tenant is not None:
            others = others.exclude(pk=self.tenant.pk)
        if others.exists():
            raise forms.ValidationError(self.uen_taken)
        return uen

    def clean_gst_number(self):
        number = normalise_identifier(self.cleaned_data["gst_number"])
        if number and self.cleaned_data.get("is_gst_registered"):
            problem = gst_number_problem(number)
            if problem:
                raise forms.ValidationError(problem)
        return number

    def clean_billing_email(self):
        return self.cleaned_data["billing_email"].strip().lower()

    def clean(self):
        cleaned = super().clean()
        if "gst_number" not in cleaned:
            return cleaned
        if not cleaned.get("is_gst_registered"):
            # A number typed before unticking the box means nothing; one kept from before would
            # end up on invoices.
            cleaned["gst_number"] = ""
        elif not cleaned["gst_number"]:
            self.add_error(
                "gst_number", "Enter your GST registration number, or untick “Registered for GST”."
            )
        return cleaned

    def details(self) -> dict:
        """The cleaned values as Tenant fields."""
        names = ("name", "uen", "is_gst_registered", "gst_number", "billing_email")
        return {name: self.cleaned_data[name] for name in names}

"""The organisation form of the sign-up, and the subdomain and UEN checks it shares with the
live checks beside its fields."""

import re
from dataclasses import dataclass, field

from django import forms
from django.utils.text import slugify

from nexuscore.billing.models import Plan
from nexuscore.lib.singapore import gst_number_problem, normalise_identifier, uen_problem
from tenants.models import Tenant, slug_problem
from tenants.provisioning import slug_taken

UEN_TAKEN = (
    "An organisation with this UEN already uses NexusCore. If it is yours, ask one of its owners "
    "to invite you."
)
# Words of a company's legal form, left out when a subdomain is made from its name.
LEGAL_FORM_WORDS = {"pte", "ltd", "private", "limited", "llp", "lp", "inc", "co", "plc", "sdn"}
SUGGESTION_SUFFIXES = ["sg", "2", "pte", "co", "3", "4", "5", "hq"]
SUGGESTION_COUNT = 3


@dataclass(frozen=True)
class SlugCheck:
    """What the form says about a subdomain: its problem, or that it is free."""

    slug: str
    problem: str | None = None
    suggestions: list[str] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return bool(self.slug) and self.problem is None


def normalise_slug(value) -> str:
    return str(value or "").strip().lower()[:100]


def slug_from_name(name: str) -> str:
    """A subdomain-shaped version of an organisation's name ("Acme Trading Pte. Ltd." gives
    "acme-trading"), or "" when nothing usable is left."""
    words = slugify(str(name or "")[:200]).replace("_", "-").split("-")
    words = [word for word in words if word]
    while len(words) > 1 and words[-1] in LEGAL_FORM_WORDS:
        words.pop()
    slug = re.sub(r"^[^a-z]+", "", "-".join(words))  # a subdomain starts with a letter
    return slug[:32].rstrip("-")


def suggest_slugs(slug: str, count: int = SUGGESTION_COUNT) -> list[str]:
    """Up to `count` valid, free subdomains close to `slug` (acme-sg, acme-2, acme-pte ...)."""
    base = slug_from_name(slug)[:28].rstrip("-")
    if not base:
        return []
    candidates = [base, *(f"{base}-{suffix}" for suffix in SUGGESTION_SUFFIXES)]
    candidates = [c for c in candidates if c != slug and slug_problem(c) is None]
    taken = set(
        Tenant.objects.filter(schema_name__in=candidates).values_list("schema_name", flat=True)
    )
    return [c for c in candidates if c not in taken][:count]


def check_slug(value) -> SlugCheck:
    """Whether `value` can be a new organisation's subdomain, with suggestions when not."""
    slug = normalise_slug(value)
    if not slug:
        return SlugCheck(slug="")
    problem = slug_problem(slug)
    if problem is None and slug_taken(slug):
        problem = f"“{slug}” is already taken; please choose another subdomain."
    if problem is None:
        return SlugCheck(slug=slug)
    return SlugCheck(slug=slug, problem=problem, suggestions=suggest_slugs(slug))


def first_free_slug(name: str) -> str:
    """The subdomain to suggest for an organisation called `name` ("" when none fits)."""
    base = slug_from_name(name)
    if not base:
        return ""
    if slug_problem(base) is None and not slug_taken(base):
        return base
    suggestions = suggest_slugs(base, count=1)
    return suggestions[0] if suggestions else ""


def uen_check_problem(value) -> str | None:
    """Why `value` cannot be a new organisation's UEN; None when it can."""
    problem = uen_problem(str(value or "")[:50])
    if problem is None and Tenant.objects.filter(uen=normalise_identifier(value)).exists():
        problem = UEN_TAKEN
    return problem


class PlanChoiceField(forms.ModelChoiceField):
    def to_python(self, value):
        # PostgreSQL refuses a NUL character in a query: such a value is simply no plan's SKU.
        if isinstance(value, str) and "\x00" in value:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(value)

    def label_from_instance(self, plan):
        return f"{plan.name}, {plan.get_billing_period_display().lower()}"


class OrganisationForm(forms.Form):
    """A new organisation: its name, subdomain, UEN, GST registration, billing email and plan."""

    name = forms.CharField(
        label="Organisation name",
        max_length=255,
        error_messages={"required": "Enter your organisation's name."},
        help_text="As your customers know it, for example Lim Brothers Engineering Pte. Ltd.",
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    slug = forms.CharField(
        label="Subdomain",
        max_length=100,
        error_messages={"required": "Choose a subdomain: your organisation's own address."},
    )
    uen = forms.CharField(
        label="UEN",
        max_length=50,
        error_messages={"required": "Enter your organisation's UEN."},
        help_text="The Unique Entity Number ACRA gave your organisation, for example 201912345R.",
    )
    is_gst_registered = forms.BooleanField(label="GST registered", required=False)
    gst_number = forms.CharField(
        label="GST registration number",
        max_length=50,
        required=False,
        help_text="Needed if GST registered: your UEN or the M number IRAS gave you.",
    )
    billing_email = forms.EmailField(
        label="Billing email",
        max_length=254,
        error_messages={
            "required": "Enter the email address tax invoices should go to.",
            "invalid": "Enter an email address like accounts@yourcompany.sg.",
        },
        help_text="Where tax invoices and receipts go.",
    )
    plan = PlanChoiceField(
        label="Plan",
        queryset=Plan.objects.on_sale(),
        to_field_name="sku",
        empty_label=None,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose the plan to try.",
            "invalid_choice": "Choose one of the plans listed.",
        },
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["billing_email"].initial = user.email

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Enter your organisation's name.")
        return name

    def clean_slug(self):
        check = check_slug(self.cleaned_data["slug"])
        if check.problem:
            raise forms.ValidationError(check.problem)
        return check.slug

    def clean_uen(self):
        uen = self.cleaned_data["uen"]
        problem = uen_check_problem(uen)
        if problem:
            raise forms.ValidationError(problem)
        return normalise_identifier(uen)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("is_gst_registered"):
            # A number typed before unticking the box means nothing; keep the record consistent.
            cleaned["gst_number"] = ""
            return cleaned
        if "gst_number" in self.errors:
            return cleaned
        gst_number = cleaned.get("gst_number", "")
        problem = gst_number_problem(gst_number)
        if problem:
            self.add_error("gst_number", problem)
        else:
            cleaned["gst_number"] = normalise_identifier(gst_number)
        return cleaned

    def organisation_details(self) -> dict:
        """The Tenant fields provision_tenant() takes beside name, slug, owner and plan."""
        return {
            key: self.cleaned_data[key]
            for key in ("uen", "is_gst_registered", "gst_number", "billing_email")
        }

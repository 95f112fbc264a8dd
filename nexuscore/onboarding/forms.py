"""The organisation form of the sign-up, and the subdomain and UEN checks it shares with the
live checks beside its fields."""

import re
from dataclasses import dataclass, field

from django import forms
from django.utils.text import slugify

from nexuscore.billing.models import Plan
from nexuscore.lib.singapore import normalise_identifier, uen_problem
from tenants.forms import OrganisationDetailsForm
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


class OrganisationForm(OrganisationDetailsForm):
    """A new organisation: its details (OrganisationDetailsForm; UEN and billing email required
    here), its subdomain and the plan to try."""

    uen_taken = UEN_TAKEN

    slug = forms.CharField(
        label="Subdomain",
        max_length=100,
        error_messages={"required": "Choose a subdomain: your organisation's own address."},
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
    field_order = ["name", "slug", "uen", "is_gst_registered", "gst_number", "billing_email"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["uen"].required = True
        self.fields["billing_email"].required = True
        self.fields["billing_email"].initial = user.email

    def clean_slug(self):
        check = check_slug(self.cleaned_data["slug"])
        if check.problem:
            raise forms.ValidationError(check.problem)
        return check.slug

    def organisation_details(self) -> dict:
        """The Tenant fields provision_tenant() takes beside name, slug, owner and plan."""
        details = self.details()
        del details["name"]
        return details

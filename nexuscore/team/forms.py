"""Forms of the team and settings pages. Each clean_* turns input into the value stored."""

import re

from django import forms

from nexuscore.lib.forms import options_html, zone_choices_with
from nexuscore.team.actions import INVITABLE_ROLES, invitation_state, open_invitations
from tenants.forms import OrganisationDetailsForm
from tenants.models import Membership, Tenant

Role = Membership.Role

ROLE_HELP = {
    Role.ADMIN: "manages the team, settings and activity log",
    Role.MEMBER: "works with leads and invoices",
    Role.VIEWER: "can look at leads and invoices, not change them",
}


def _role_choices(by: Membership):
    """The roles `by` may hand out: only owners give the administrator role."""
    roles = INVITABLE_ROLES if by.role == Role.OWNER else (Role.MEMBER, Role.VIEWER)
    return [(role.value, role.label) for role in roles]


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off", "placeholder": "name@company.sg"}),
        error_messages={
            "required": "Enter the email address of the person to invite.",
            "invalid": "Enter a whole email address, like name@company.sg.",
        },
    )
    role = forms.ChoiceField(
        label="Role",
        error_messages={"invalid_choice": "Choose one of the roles in the list."},
    )

    def __init__(self, *args, by: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.by = by
        self.fields["role"].choices = _role_choices(by)
        self.fields["role"].initial = Role.MEMBER
        self.fields["role"].help_text = "; ".join(
            f"{Role(value).label}: {ROLE_HELP[value]}" for value, _ in _role_choices(by)
        )

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        tenant = self.by.tenant
        if Membership.objects.filter(tenant=tenant, user__email__iexact=email).exists():
            raise forms.ValidationError(f"{email} is already a member of {tenant.name}.")
        previous = open_invitations(tenant).filter(email__iexact=email).first()
        if previous is not None and invitation_state(previous) == "pending":
            raise forms.ValidationError(
                f"{email} already has a pending invitation; use “Resend” in the list below if "
                "it went astray."
            )
        return email


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        label="Role",
        choices=[(role.value, role.label) for role in INVITABLE_ROLES],
        error_messages={
            "required": "Choose a role.",
            "invalid_choice": "Choose administrator, member or viewer.",
        },
    )


class TransferOwnershipForm(forms.Form):
    new_owner = forms.ModelChoiceField(
        label="New owner",
        queryset=Membership.objects.none(),
        empty_label="Choose a member",
        error_messages={
            "required": "Choose the member who will own the organisation.",
            "invalid_choice": "Choose one of the members in the list.",
        },
    )
    confirm = forms.BooleanField(
        label="I understand that I will become an administrator and the new owner will control "
        "the organisation, its billing and its team.",
        error_messages={"required": "Tick the box to confirm the transfer."},
    )

    def __init__(self, *args, by: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["new_owner"]
        field.queryset = (
            Membership.objects.filter(tenant_id=by.tenant_id)
            .exclude(pk=by.pk)
            .select_related("user")
            .order_by("user__name", "user__email")
        )
        field.label_from_instance = lambda m: (
            f"{m.user.name or m.user.email} ({m.user.email}), {m.get_role_display().lower()}"
        )


POSTAL_CODE = re.compile(r"^[0-9]{6}$")
PHONE = re.compile(r"^\+?[0-9]{8,15}$")


class OrganisationSettingsForm(OrganisationDetailsForm):
    """The organisation's details (OrganisationDetailsForm), its billing contact and address,
    time zone and sign-in rule.

    `changes()` gives the cleaned values as Tenant fields, for actions.update_settings().
    """

    uen_taken = (
        "Another organisation on NexusCore is registered with this UEN. Check it against "
        "your ACRA record; if it is yours, contact us."
    )

    billing_phone = forms.CharField(label="Billing phone", max_length=20, required=False)
    street = forms.CharField(label="Street address", max_length=200, required=False)
    unit = forms.CharField(
        label="Unit", max_length=20, required=False, help_text="For example #20-01."
    )
    postal_code = forms.CharField(
        label="Postal code", max_length=20, required=False, help_text="6 digits, like 048616."
    )
    timezone = forms.ChoiceField(
        label="Time zone",
        help_text="Times on NexusCore are shown in this time zone.",
        error_messages={
            "required": "Choose a time zone.",
            "invalid_choice": "Choose a time zone from the list, for example Asia/Singapore.",
        },
    )
    requires_two_factor = forms.BooleanField(
        label="Require two-factor authentication for every member",
        required=False,
        help_text="Members will need an authenticator app to open this organisation.",
    )

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, tenant=tenant, **kwargs)
        self.fields["timezone"].choices = zone_choices_with(tenant.timezone)

    def timezone_options(self) -> str:
        """The time-zone select's options, the chosen one marked (lib/forms.options_html)."""
        return options_html(self.fields["timezone"].choices, str(self["timezone"].value() or ""))

    @staticmethod
    def initial_for(tenant: Tenant) -> dict:
        address = tenant.billing_address or {}
        return {
            "name": tenant.name,
            "uen": tenant.uen or "",
            "is_gst_registered": tenant.is_gst_registered,
            "gst_number": tenant.gst_number,
            "billing_email": tenant.billing_email,
            "billing_phone": tenant.billing_phone,
            "street": address.get("street", ""),
            "unit": address.get("unit", ""),
            "postal_code": address.get("postal_code", ""),
            "timezone": tenant.timezone or "Asia/Singapore",
            "requires_two_factor": tenant.requires_two_factor,
        }

    def clean_billing_phone(self):
        phone = " ".join(self.cleaned_data["billing_phone"].split())
        if phone and not PHONE.match(re.sub(r"[\s()\-]", "", phone)):
            raise forms.ValidationError(
                "Enter a phone number of 8 to 15 digits, for example +65 6123 4567."
            )
        return phone

    def clean_street(self):
        return " ".join(self.cleaned_data["street"].split())

    def clean_unit(self):
        return " ".join(self.cleaned_data["unit"].split())

    def clean_postal_code(self):
        code = self.cleaned_data["postal_code"].replace(" ", "")
        if code and not POSTAL_CODE.match(code):
            raise forms.ValidationError("A Singapore postal code has 6 digits, like 048616.")
        return code

    def changes(self) -> dict:
        data = self.cleaned_data
        address_parts = {key: data[key] for key in ("street", "unit", "postal_code")}
        address = {**address_parts, "country": "SG"} if any(address_parts.values()) else {}
        return {
            **self.details(),
            "billing_phone": data["billing_phone"],
            "billing_address": address,
            "timezone": data["timezone"],
            "requires_two_factor": data["requires_two_factor"],
        }

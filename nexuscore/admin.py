"""The staff admin: Django's admin, branded NexusCore, on the public host only.

It replaces the default admin site (see NexusCoreAdminConfig), so every app's registrations land
here. Only active staff with two-factor authentication enter. The admin's own sign-in form
would check only a password, so /admin/login/ sends people to allauth's sign-in page, which
also asks for the second factor.
"""

from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth.decorators import login_not_required
from django.db import models
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from nexuscore.lib.forms import validate_day_in_range


def _on_public_host(request) -> bool:
    tenant = getattr(request, "tenant", None)
    return tenant is None or tenant.is_public


class StaffAdminSite(admin.AdminSite):
    site_header = "NexusCore staff admin"
    site_title = "NexusCore staff"
    index_title = "Platform"

    def has_permission(self, request):
        # Imported here: this module is loaded with the app registry (NexusCoreAdminConfig),
        # before allauth's models can be.
        from allauth.mfa.utils import is_mfa_enabled

        user = request.user
        return (
            _on_public_host(request) and user.is_active and user.is_staff and is_mfa_enabled(user)
        )

    @method_decorator(never_cache)
    @login_not_required
    def login(self, request, extra_context=None):
        """Where the admin sends people it does not let in.

        Anonymous people sign in on allauth's page and come back. Signed-in staff without an
        authenticator are told to set one up; anyone else signed in is told the admin is for
        staff only.
        """
        next_url = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = reverse("admin:index", current_app=self.name)
        if not request.user.is_authenticated:
            return redirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")
        if self.has_permission(request):
            return redirect(next_url)
        user = request.user
        if _on_public_host(request) and user.is_active and user.is_staff:
            return render(request, "admin/two_factor_required.html", status=403)
        return render(request, "admin/staff_only.html", status=403)

    def password_change(self, request, extra_context=None):
        # allauth's page sends the password_changed signal, which puts the change in the audit
        # log; Django's admin form would change it silently.
        return redirect("account_change_password")


class NexusCoreAdminConfig(AdminConfig):
    default_site = "nexuscore.admin.StaffAdminSite"


class DateBoundedChangeList(ChangeList):
    """Django's change list, whose date drill-down (date_hierarchy) fails on the last days of
    the calendar: `?created_at__year=9999` asks for a year 10000 (ValueError) and
    `...&created_at__month=12&created_at__day=31` for the day after (OverflowError), both a 500.
    Here they are wrong filters like any other, which send staff back to the whole list."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as error:
            raise IncorrectLookupParameters(error) from error


class StaffModelAdmin(admin.ModelAdmin):
    """A model admin that keeps to the calendar's safe years: its list's date drill-down (see
    DateBoundedChangeList) and the dates staff type into its forms. Every admin with a
    date_hierarchy or an editable date starts from it."""

    def get_changelist(self, request, **kwargs):
        return DateBoundedChangeList

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        # A date in year 1 stores (as 1 BC in UTC) but cannot be read back: every later page
        # showing it would fail. DateTimeField is a DateField.
        if isinstance(db_field, models.DateField) and formfield is not None:
            formfield.validators.append(validate_day_in_range)
        return formfield


class ReadOnlyAdmin(StaffModelAdmin):
    """For records nobody edits by hand (audit events, usage, webhooks)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

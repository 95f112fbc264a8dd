"""The staff admin: Django's admin, branded NexusCore, on the public host only.

It replaces the default admin site (see NexusCoreAdminConfig), so every app's registrations land
here. Only active staff enter.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class StaffAdminSite(admin.AdminSite):
    site_header = "NexusCore staff admin"
    site_title = "NexusCore staff"
    index_title = "Platform"

    def has_permission(self, request):
        tenant = getattr(request, "tenant", None)
        on_public_host = tenant is None or tenant.is_public
        return on_public_host and request.user.is_active and request.user.is_staff


class NexusCoreAdminConfig(AdminConfig):
    default_site = "nexuscore.admin.StaffAdminSite"


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records nobody edits by hand (audit events, usage, webhooks)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

"""NexusCore's own privacy requests (public schema) in the staff admin.

Staff read them and work them with the same named functions as an organisation's inbox: approve
and then carry out a deletion (two actions), apply a correction, retry an export. Nobody edits a
request by hand.
"""

from django.contrib import admin, messages
from django.utils import timezone

from nexuscore.admin import ReadOnlyAdmin
from nexuscore.privacy import actions
from nexuscore.privacy.models import DSARRequest


def _run(modeladmin, request, queryset, step, done):
    for dsar in queryset:
        try:
            step(dsar, actor=request.user)
        except actions.NotAllowedNow as refused:
            modeladmin.message_user(request, f"{dsar}: {refused}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{dsar}: {done}", messages.SUCCESS)


@admin.register(DSARRequest)
class DSARRequestAdmin(ReadOnlyAdmin):
    list_display = ["requested_at", "request_type", "email", "status", "due_at", "days_left"]
    list_filter = ["status", "request_type"]
    search_fields = ["email"]
    date_hierarchy = "requested_at"
    exclude = ["verification_token"]
    actions = ["approve_deletion", "carry_out_deletion", "apply_correction", "retry_export"]

    @admin.display(description="days left")
    def days_left(self, obj):
        left = obj.days_left(timezone.now())
        if left is None or not obj.is_open:
            return "-"
        return f"OVERDUE by {-left}" if left < 0 else left

    @admin.action(description="Approve the deletion (step 1 of 2)")
    def approve_deletion(self, request, queryset):
        _run(self, request, queryset, actions.approve_deletion, "deletion approved")

    @admin.action(description="Carry out the approved deletion (step 2 of 2)")
    def carry_out_deletion(self, request, queryset):
        _run(self, request, queryset, actions.carry_out_deletion, "anonymised")

    @admin.action(description="Apply the correction asked for")
    def apply_correction(self, request, queryset):
        _run(self, request, queryset, actions.apply_correction, "corrected")

    @admin.action(description="Try the export again")
    def retry_export(self, request, queryset):
        _run(self, request, queryset, actions.start_export, "export queued")

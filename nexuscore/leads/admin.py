"""Staff admin for NexusCore's own sales leads (the Lead rows in the public schema).

The staff admin only answers on the public host, so the leads it lists are NexusCore's: those
from the contact form and any staff add by hand. Staff work them here (status, owner, follow-up,
notes) and may correct a person's details; what the person agreed to and where they came from
is evidence and stays read-only. Changes go through nexuscore.leads.actions, so each is an audit
event in the public schema, as on an organisation's host.
"""

from django.contrib import admin
from django.template.defaultfilters import pluralize

from nexuscore.accounts.models import User
from nexuscore.admin import StaffModelAdmin
from nexuscore.audit.models import record_event
from nexuscore.leads.actions import assign_lead, delete_leads, update_lead
from nexuscore.leads.models import Lead


@admin.register(Lead)
class LeadAdmin(StaffModelAdmin):
    list_display = [
        "name",
        "company",
        "email",
        "status",
        "source",
        "assigned_to",
        "utm_campaign",
        "next_follow_up",
        "created_at",
    ]
    list_display_links = ["name"]
    list_filter = ["status", "source", "created_at", "assigned_to"]
    search_fields = ["name", "email", "company", "phone", "notes", "utm_campaign"]
    list_select_related = ["assigned_to"]
    date_hierarchy = "created_at"
    actions = ["assign_to_me"]
    # A lead's own page is on an organisation's host; the public host has none to show.
    view_on_site = False
    readonly_fields = [
        "source",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "form_data",
        "consent_purpose",
        "consent_text",
        "consent_version",
        "consent_given_at",
        "consent_withdrawn_at",
        "submission_key",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        ("Follow-up", {"fields": ["status", "lost_reason", "assigned_to", "next_follow_up"]}),
        ("Person", {"fields": ["name", "email", "phone", "company", "job_title", "notes"]}),
        (
            "Where they came from",
            {
                "fields": [
                    "source",
                    "utm_source",
                    "utm_medium",
                    "utm_campaign",
                    "utm_term",
                    "utm_content",
                    "form_data",
                ]
            },
        ),
        (
            "Consent",
            {
                "fields": [
                    "consent_purpose",
                    "consent_text",
                    "consent_version",
                    "consent_given_at",
                    "consent_withdrawn_at",
                ]
            },
        ),
        ("Record", {"fields": ["submission_key", "converted_at", "created_at", "updated_at"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # Staff adding a lead by hand say where it came from; afterwards the source is history.
        if obj is None:
            return [field for field in self.readonly_fields if field != "source"]
        return self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assigned_to":
            kwargs["queryset"] = User.objects.active_staff().order_by("email")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            stored = type(obj).objects.get(pk=obj.pk)
            before = {name: getattr(stored, name) for name in form.changed_data}
            update_lead(obj, actor=request.user, before=before)
            return
        # Not create_lead(): NexusCore's own leads count against no organisation's plan.
        super().save_model(request, obj, form, change)
        record_event(
            "lead.created", actor=request.user, data={"lead": str(obj.pk), "source": obj.source}
        )

    def delete_model(self, request, obj):
        delete_leads(Lead.objects.filter(pk=obj.pk), actor=request.user)

    def delete_queryset(self, request, queryset):
        delete_leads(queryset, actor=request.user)

    @admin.action(description="Assign the selected leads to me")
    def assign_to_me(self, request, queryset):
        assigned = sum(assign_lead(lead, request.user, actor=request.user) for lead in queryset)
        self.message_user(request, f"{assigned} lead{pluralize(assigned)} assigned to you.")

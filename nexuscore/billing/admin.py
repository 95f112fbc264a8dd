from django.contrib import admin

from nexuscore.admin import ReadOnlyAdmin
from nexuscore.billing.models import Invoice, Plan, Subscription, WebhookEvent
from nexuscore.billing.webhooks import replay


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "sku", "billing_period", "amount_cents", "currency", "is_active"]
    list_filter = ["billing_period", "is_active"]
    search_fields = ["name", "sku"]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["tenant", "plan", "status", "trial_end", "current_period_end", "created_at"]
    list_filter = ["status", "plan"]
    search_fields = ["tenant__name", "tenant__schema_name", "stripe_subscription_id"]
    list_select_related = ["tenant", "plan"]
    autocomplete_fields = ["tenant"]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    """Tax records: kept as issued (credit notes correct them)."""

    list_display = [
        "number",
        "tenant",
        "kind",
        "status",
        "tax_code",
        "subtotal_cents",
        "gst_amount_cents",
        "total_cents",
        "issued_at",
    ]
    list_filter = ["status", "kind", "tax_code"]
    search_fields = ["number", "tenant__name", "stripe_invoice_id"]
    list_select_related = ["tenant"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "service", "event_type", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "service", "event_type"]
    search_fields = ["event_id", "event_type"]
    actions = ["replay_events"]

    @admin.action(description="Process the selected events again now")
    def replay_events(self, request, queryset):
        results = [replay(webhook) for webhook in queryset]
        done = results.count(WebhookEvent.Status.PROCESSED)
        self.message_user(request, f"Replayed {len(results)} event(s); {done} processed.")

    def has_change_permission(self, request, obj=None):
        # Read-only fields, but the action needs the change permission on the list.
        return obj is None and request.user.is_staff

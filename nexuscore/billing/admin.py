from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import path
from django.utils.html import format_html
from django.utils.text import Truncator

from nexuscore.admin import ReadOnlyAdmin
from nexuscore.billing import reports
from nexuscore.billing.models import IdempotencyRecord, Invoice, Plan, Subscription, WebhookEvent
from nexuscore.billing.pdf import dollars
from nexuscore.billing.webhooks import replay
from nexuscore.lib import csv as safe_csv
from nexuscore.lib.charts import bar_chart


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
    """Tax records: kept as issued (credit notes correct them). The changelist links to the
    revenue per month and the GST summary per quarter, each exportable as CSV."""

    change_list_template = "billing/admin/invoice_change_list.html"

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

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("revenue/", wrap(self.revenue_view), name="billing_invoice_revenue"),
            path("revenue.csv", wrap(self.revenue_csv), name="billing_invoice_revenue_csv"),
            path("gst.csv", wrap(self.gst_csv), name="billing_invoice_gst_csv"),
            *super().get_urls(),
        ]

    def _check(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied

    def revenue_view(self, request):
        self._check(request)
        months = reports.revenue_per_month()
        chart = bar_chart([(m.label, m.before_gst_cents // 100) for m in months] or [("", 0)])
        context = {
            **self.admin_site.each_context(request),
            "title": "Revenue and GST",
            "opts": self.model._meta,
            "months": months,
            "chart": chart,
            "quarters": reports.gst_per_quarter(),
        }
        return TemplateResponse(request, "billing/admin/revenue.html", context)

    def revenue_csv(self, request):
        self._check(request)
        rows = [
            [m.month.strftime("%Y-%m"), *map(dollars, (m.before_gst_cents, m.gst_cents)),
             dollars(m.total_cents), dollars(m.collected_cents)]
            for m in reports.revenue_per_month(months=120)
        ]  # fmt: skip
        header = ["month", "before_gst_sgd", "gst_sgd", "total_sgd", "collected_sgd"]
        return _csv("nexuscore-revenue.csv", header, rows)

    def gst_csv(self, request):
        """For the GST F5 return: boxes 1, 2, 3 and 6 per quarter."""
        self._check(request)
        rows = [
            [q.label, dollars(q.standard_rated_cents), dollars(q.zero_rated_cents),
             dollars(q.exempt_cents), dollars(q.output_tax_cents)]
            for q in reports.gst_per_quarter()
        ]  # fmt: skip
        header = [
            "quarter",
            "standard_rated_supplies_sgd",
            "zero_rated_supplies_sgd",
            "exempt_supplies_sgd",
            "output_tax_sgd",
        ]
        return _csv("nexuscore-gst.csv", header, rows)


def _csv(filename, header, rows) -> HttpResponse:
    """The rows as a CSV download; amounts stay numbers (Decimal), text is made safe to open."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = safe_csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    """Failed events stand out in the list (staff are emailed a link to each one) and can be
    replayed once the cause is fixed."""

    list_display = [
        "created_at",
        "service",
        "event_id",
        "event_type",
        "status_badge",
        "attempts",
        "next_attempt_at",
        "short_error",
    ]
    list_filter = ["status", "service", "event_type"]
    search_fields = ["event_id", "event_type"]
    actions = ["replay_events"]

    @admin.display(description="status", ordering="status")
    def status_badge(self, webhook):
        if webhook.status != WebhookEvent.Status.FAILED:
            return webhook.get_status_display()
        # The admin's own alert icon: the site's CSP allows no inline style.
        return format_html(
            '<img src="{}" alt=""> <strong>{}</strong>',
            static("admin/img/icon-alert.svg"),
            webhook.get_status_display(),
        )

    @admin.display(description="error")
    def short_error(self, webhook):
        return Truncator(webhook.error).chars(100)

    @admin.action(description="Process the selected events again now")
    def replay_events(self, request, queryset):
        results = [replay(webhook) for webhook in queryset]
        done = results.count(WebhookEvent.Status.PROCESSED)
        self.message_user(request, f"Replayed {len(results)} event(s); {done} processed.")

    def has_change_permission(self, request, obj=None):
        # Read-only fields, but the action needs the change permission on the list.
        return obj is None and request.user.is_staff


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "request_method", "request_path", "status", "response_code"]
    list_filter = ["status", "request_method"]
    search_fields = ["key", "request_path"]

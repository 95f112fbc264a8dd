from django.contrib import admin

from nexuscore.admin import ReadOnlyAdmin
from nexuscore.quotas.models import UsageEvent, UsageRecord


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "metric", "usage", "period_start", "period_end", "updated_at"]
    list_filter = ["metric", "period_end"]
    search_fields = ["tenant__name", "tenant__schema_name"]
    list_select_related = ["tenant"]
    date_hierarchy = "period_start"


@admin.register(UsageEvent)
class UsageEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "tenant", "metric", "amount", "metadata"]
    list_filter = ["metric", "created_at"]
    search_fields = ["tenant__name", "tenant__schema_name"]
    list_select_related = ["tenant"]
    date_hierarchy = "created_at"

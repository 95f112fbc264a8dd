from django.contrib import admin

from nexuscore.admin import ReadOnlyAdmin
from nexuscore.audit.models import Event


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event_type", "actor", "tenant"]
    list_filter = ["event_type", "created_at"]
    search_fields = ["event_type", "actor__email", "tenant__name"]
    list_select_related = ["actor", "tenant"]
    date_hierarchy = "created_at"

from django.contrib import admin

from tenants.models import Domain, Membership, PooledSchema, Tenant


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "schema_name", "uen", "is_gst_registered", "status", "created_at"]
    list_filter = ["status", "is_gst_registered"]
    search_fields = ["name", "schema_name", "uen", "billing_email"]
    readonly_fields = ["schema_name", "created_at", "updated_at"]
    autocomplete_fields = ["owner"]
    inlines = [DomainInline]

    def has_add_permission(self, request):
        # Organisations are made by provision_tenant(), which also creates the schema.
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "tenant", "is_primary"]
    search_fields = ["domain", "tenant__name"]
    autocomplete_fields = ["tenant"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "joined_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "tenant__name", "tenant__schema_name"]
    autocomplete_fields = ["user", "tenant", "invited_by"]
    list_select_related = ["user", "tenant"]


@admin.register(PooledSchema)
class PooledSchemaAdmin(admin.ModelAdmin):
    list_display = ["schema_name", "fingerprint", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

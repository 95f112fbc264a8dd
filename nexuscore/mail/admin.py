from django.contrib import admin
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.text import Truncator

from nexuscore.admin import ReadOnlyAdmin
from nexuscore.mail.models import OutboundEmail
from nexuscore.mail.outbox import send_again


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return OutboundEmail.State.choices

    def queryset(self, request, queryset):
        match self.value():
            case OutboundEmail.State.WAITING:
                return queryset.waiting()
            case OutboundEmail.State.SENT:
                return queryset.filter(sent_at__isnull=False)
            case OutboundEmail.State.GIVEN_UP:
                return queryset.given_up()
        return queryset


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin):
    """The outbox: what was sent and what is stuck. A message given up after every attempt
    failed shows its last error; fix the cause, then send it again with the action. Bodies are
    not shown: they carry organisations' data (lead names in digests, say)."""

    list_display = [
        "created_at",
        "subject",
        "recipients",
        "schema_name",
        "state_badge",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "short_error",
    ]
    list_filter = [StateFilter, "schema_name"]
    search_fields = ["dedupe_key", "subject"]
    fields = [
        "dedupe_key",
        "schema_name",
        "to",
        "cc",
        "reply_to",
        "subject",
        "created_at",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
    actions = ["send_selected_again"]

    @admin.display(description="to")
    def recipients(self, email):
        return ", ".join(email.to)

    @admin.display(description="state")
    def state_badge(self, email):
        label = OutboundEmail.State(email.state).label
        if email.state != OutboundEmail.State.GIVEN_UP:
            return label
        # The admin's own alert icon: the site's CSP allows no inline style.
        return format_html(
            '<img src="{}" alt=""> <strong>{}</strong>', static("admin/img/icon-alert.svg"), label
        )

    @admin.display(description="last error")
    def short_error(self, email):
        return Truncator(email.last_error).chars(100)

    @admin.action(description="Send the selected unsent messages again now")
    def send_selected_again(self, request, queryset):
        queued = send_again(queryset)
        self.message_user(request, f"{queued} message(s) queued to be sent again.")

    def has_change_permission(self, request, obj=None):
        # Read-only fields, but the action needs the change permission on the list.
        return obj is None and request.user.is_staff

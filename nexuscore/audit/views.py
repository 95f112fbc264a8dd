"""The organisation's activity log (owner and admin)."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from nexuscore.audit.models import Event
from tenants.decorators import require_permission


@require_GET
@require_permission("audit.view")
def activity(request):
    events = Event.objects.select_related("actor")
    event_type = request.GET.get("type", "").strip()
    if event_type:
        events = events.filter(event_type=event_type)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    event_types = (
        Event.objects.order_by("event_type").values_list("event_type", flat=True).distinct()
    )
    context = {"page": page, "event_type": event_type, "event_types": event_types}
    return render(request, "app/activity.html", context)

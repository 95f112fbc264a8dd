"""Dashboard of an organisation's host."""

from django.db.models import Count
from django.shortcuts import render
from django.views.decorators.http import require_GET

from nexuscore.audit.models import Event
from tenants.decorators import require_membership
from tenants.models import Membership


@require_GET
@require_membership
def dashboard(request):
    role_counts = dict(
        Membership.objects.filter(tenant=request.tenant)
        .values_list("role")
        .annotate(count=Count("id"))
        .order_by()
    )
    context = {
        "member_count": sum(role_counts.values()),
        "role_counts": role_counts,
        "recent_events": Event.objects.select_related("actor")[:10],
    }
    return render(request, "app/dashboard.html", context)

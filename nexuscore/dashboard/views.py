"""Dashboard of an organisation's host: how the pipeline is doing, what is due, what happened."""

from datetime import datetime, time, timedelta

from django.core.cache import caches
from django.db.models import Count, Q
from django.db.models.functions import TruncWeek
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET

from nexuscore.audit.models import Event
from nexuscore.dashboard.charts import stacked_bar_chart
from nexuscore.leads.models import Lead
from tenants.decorators import require_membership
from tenants.models import Membership

CHART_WEEKS = 12
CONVERSION_DAYS = 90
# The lead figures read every lead of the last months: at 100,000 leads that is a few hundred
# milliseconds, so each process keeps them for a minute, in its own memory: reading them from
# the database cache cost a round trip per page (the cache keys carry the schema name).
FIGURES_CACHE_SECONDS = 60


def _change(current: int, previous: int) -> int | None:
    """Percentage change from the previous period (None when there was nothing before)."""
    if not previous:
        return None
    return round(100 * (current - previous) / previous)


def lead_figures(now, zone) -> dict:
    """Leads this week and month against the previous ones, and the conversion rate of the
    last CONVERSION_DAYS days (one query)."""
    local = now.astimezone(zone)
    today = datetime.combine(local.date(), time.min, tzinfo=zone)
    week = today - timedelta(days=local.weekday())
    month = today.replace(day=1)
    previous_month = (month - timedelta(days=1)).replace(day=1)
    since = now - timedelta(days=CONVERSION_DAYS)
    earliest = min(since, previous_month, week - timedelta(7))
    figures = Lead.objects.filter(created_at__gte=earliest).aggregate(
        week=Count("id", filter=Q(created_at__gte=week)),
        previous_week=Count(
            "id", filter=Q(created_at__gte=week - timedelta(7), created_at__lt=week)
        ),
        month=Count("id", filter=Q(created_at__gte=month)),
        previous_month=Count("id", filter=Q(created_at__gte=previous_month, created_at__lt=month)),
        recent=Count("id", filter=Q(created_at__gte=since)),
        recent_won=Count("id", filter=Q(created_at__gte=since, status=Lead.Status.WON)),
    )
    figures["week_change"] = _change(figures["week"], figures["previous_week"])
    figures["month_change"] = _change(figures["month"], figures["previous_month"])
    figures["conversion"] = (
        round(100 * figures["recent_won"] / figures["recent"], 1) if figures["recent"] else None
    )
    figures["conversion_days"] = CONVERSION_DAYS
    return figures


def pipeline() -> list[dict]:
    counts = dict(Lead.objects.values_list("status").annotate(n=Count("id")).order_by())
    top = max([*list(counts.values()), 1])
    return [
        {
            "status": value,
            "label": label,
            "count": counts.get(value, 0),
            "percent": round(100 * counts.get(value, 0) / top),
        }
        for value, label in Lead.Status.choices
    ]


def leads_by_source_chart(now, zone):
    local_today = now.astimezone(zone).date()
    this_week = local_today - timedelta(days=local_today.weekday())
    weeks = [this_week - timedelta(weeks=n) for n in range(CHART_WEEKS - 1, -1, -1)]
    start = datetime.combine(weeks[0], time.min, tzinfo=zone)
    rows = (
        Lead.objects.filter(created_at__gte=start)
        .annotate(week=TruncWeek("created_at", tzinfo=zone))
        .values_list("week", "source")
        .annotate(n=Count("id"))
        .order_by()
    )
    labels = dict(Lead.Source.choices)
    counts = {}
    for week, source, n in rows:
        counts[(week.date(), source)] = n
    sources = [value for value, _ in Lead.Source.choices if any(s == value for _, s in counts)]
    series = {labels[source]: [counts.get((w, source), 0) for w in weeks] for source in sources}
    return stacked_bar_chart([w.strftime("%-d %b") for w in weeks], series)


@require_GET
@require_membership
def dashboard(request):
    now = timezone.now()
    zone = request.tenant.zone
    role_counts = dict(
        Membership.objects.filter(tenant=request.tenant)
        .values_list("role")
        .annotate(count=Count("id"))
        .order_by()
    )
    # A new lead makes a new key, so new leads show at once; other changes within a minute.
    newest = Lead.objects.order_by("-created_at").values_list("created_at", flat=True).first()
    # "v2": entries from before the chart's markup was cached with the figures lack it.
    key = f"dashboard:lead-figures:v2:{newest.timestamp() if newest else 0}"
    figures = caches["local"].get(key)
    if figures is None:
        chart = leads_by_source_chart(now, zone)
        figures = {
            "figures": lead_figures(now, zone),
            "pipeline": pipeline(),
            "chart": chart,
            "chart_html": render_to_string("app/dashboard.html#chart", {"chart": chart}),
        }
        caches["local"].set(key, figures, FIGURES_CACHE_SECONDS)
    end_of_today = datetime.combine(now.astimezone(zone).date(), time.max, tzinfo=zone)
    due = Lead.objects.due_by(end_of_today).filter(assigned_to=request.user)
    context = {
        "member_count": sum(role_counts.values()),
        "role_counts": role_counts,
        "recent_events": Event.objects.select_related("actor")[:10],
        **figures,
        "due_leads": due.order_by("next_follow_up")[:10],
        "due_count": due.count(),
        "now": now,
    }
    return render(request, "app/dashboard.html", context)

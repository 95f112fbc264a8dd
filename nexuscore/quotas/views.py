"""Usage pages and endpoints on an organisation's host, for every member."""

import json

from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from nexuscore.lib.charts import bar_chart
from nexuscore.quotas.models import (
    METRICS,
    UnknownMetric,
    check_quota,
    usage_history,
    usage_summary,
)
from tenants.decorators import require_membership


def _line_json(line):
    return {
        "metric": line.metric.code,
        "label": line.metric.label,
        "used": line.used,
        "limit": line.limit,
        "remaining": None if line.limit is None else max(0, line.limit - line.used),
        "percent": line.percent,
        "enforcement": line.enforcement,
        "period_start": line.period_start.isoformat(),
        "period_end": line.period_end.isoformat(),
    }


@require_GET
@require_membership
def usage(request):
    lines = usage_summary(request.tenant)
    charts = []
    for line in lines:
        if line.metric.counter:
            history = usage_history(request.tenant, line.metric.code)
            points = [(record.period_start.strftime("%b %Y"), record.usage) for record in history]
            charts.append(
                (line, bar_chart(points or [(line.period_start.strftime("%b %Y"), 0)], line.limit))
            )
    return render(request, "app/usage.html", {"lines": lines, "charts": charts})


@require_GET
@require_membership
def usage_widget(request):
    """The bars alone, for the dashboard to load with HTMX."""
    return render(
        request, "app/usage.html#bars", {"lines": usage_summary(request.tenant), "compact": True}
    )


@require_GET
@require_membership
def usage_status(request):
    lines = usage_summary(request.tenant)
    return JsonResponse(
        {"organisation": request.tenant.slug, "metrics": [_line_json(line) for line in lines]}
    )


@require_POST
@require_membership
def usage_check(request):
    """Dry run: would `amount` more of `metric` be allowed? Accepts a form or a JSON body."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"error": "The body is not valid JSON."}, status=400)
        if not isinstance(data, dict):
            return JsonResponse({"error": "Send a JSON object with metric and amount."}, status=400)
    else:
        data = request.POST
    metric = str(data.get("metric", ""))
    try:
        amount = int(data.get("amount", 1))
    except (TypeError, ValueError):
        return JsonResponse({"error": "amount must be a whole number."}, status=400)
    if not 1 <= amount <= 1_000_000:
        return JsonResponse({"error": "amount must be between 1 and 1,000,000."}, status=400)
    try:
        check = check_quota(request.tenant, metric, amount)
    except UnknownMetric:
        return JsonResponse(
            {"error": f"Unknown metric; use one of: {', '.join(METRICS)}."}, status=400
        )
    return JsonResponse(
        {
            "metric": check.metric,
            "amount": amount,
            "allowed": check.allowed,
            "used": check.used,
            "limit": check.limit,
            "remaining": check.remaining,
            "enforcement": check.enforcement,
        }
    )

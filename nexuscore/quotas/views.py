"""Usage pages and endpoints on an organisation's host, for every member."""

import json

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
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

# A check is two short fields; a longer body is not one, and a deep or long one is costly to read.
MAX_BODY_BYTES = 4_096
MAX_AMOUNT = 1_000_000
AMOUNT_ERROR = f"amount must be a whole number from 1 to {MAX_AMOUNT:,}."


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


class BadCheck(Exception):
    """Input a check cannot use; `field` names the part at fault (None: the whole body)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _refusal(message: str, field: str | None) -> JsonResponse:
    return JsonResponse({"error": message, "field": field}, status=400)


def _check_input(request) -> tuple[str, int]:
    """The metric and amount asked about, from a JSON object or a form; BadCheck otherwise."""
    try:
        body = request.body
    except RequestDataTooBig:
        body = None
    if body is None or len(body) > MAX_BODY_BYTES:
        raise BadCheck(f"The body is too large: a check is at most {MAX_BODY_BYTES:,} bytes.")
    if request.content_type == "application/json":
        try:
            data = json.loads(body or b"{}")
        except (ValueError, RecursionError):  # RecursionError: nested past Python's stack
            raise BadCheck("The body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise BadCheck("Send a JSON object with metric and amount.")
        metric, amount = data.get("metric", ""), data.get("amount", 1)
        # JSON says what a value is: a count is an integer, not 1.5, 1e999, NaN, true or "1".
        if type(amount) is not int:
            raise BadCheck(AMOUNT_ERROR, "amount")
    else:
        try:
            data = request.POST
        except (MultiPartParserError, SuspiciousOperation):
            raise BadCheck("The form could not be read.") from None
        metric, amount = data.get("metric", ""), data.get("amount", "1")
        # Digits only: int() would also take " 1", "1_000" and other scripts' digits.
        if not (amount.isascii() and amount.isdigit() and len(amount) <= len(str(MAX_AMOUNT))):
            raise BadCheck(AMOUNT_ERROR, "amount")
        amount = int(amount)
    if not 1 <= amount <= MAX_AMOUNT:
        raise BadCheck(AMOUNT_ERROR, "amount")
    if not isinstance(metric, str):
        metric = ""  # a list or an object names no metric: the view says which ones exist
    return metric, amount


@require_POST
@require_membership
def usage_check(request):
    """Dry run: would `amount` more of `metric` be allowed? Accepts a form or a JSON object.

    Input it cannot use is a 400 whose JSON says what is wrong (`error`) and where (`field`).
    """
    try:
        metric, amount = _check_input(request)
    except BadCheck as problem:
        return _refusal(str(problem), problem.field)
    try:
        check = check_quota(request.tenant, metric, amount)
    except UnknownMetric:
        return _refusal(f"metric must be one of: {', '.join(METRICS)}.", "metric")
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

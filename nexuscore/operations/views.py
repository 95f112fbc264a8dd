"""/metrics for Prometheus, and the staff admin's operations page with its retry button.

The admin pages are wrapped in the admin site's own guard where they are routed (urls.py):
only active staff with two-factor, on the public host, like every other admin page.
"""

from django.contrib import admin, messages
from django.http import HttpResponse, HttpResponseNotFound
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_q.models import Task
from django_q.tasks import async_task
from django_tenants.utils import get_public_schema_name

from nexuscore.audit.models import record_event
from nexuscore.billing.models import WebhookEvent
from nexuscore.lib import metrics as service_metrics
from nexuscore.operations import figures
from nexuscore.operations.metrics import ServiceCollector

FAILED_TASKS_SHOWN = 50
RECENT_ERRORS_SHOWN = 10


@require_GET
@never_cache
def metrics(request):
    """Prometheus text: every process's counters and the database's figures, computed now. A
    404 to anyone without the token or an allowed address, as if there were nothing here."""
    if not service_metrics.scrape_allowed(request):
        return HttpResponseNotFound()
    body = service_metrics.exposition(ServiceCollector())
    return HttpResponse(body, content_type=service_metrics.CONTENT_TYPE)


@require_GET
def operations(request):
    now = timezone.now()
    beat_at = figures.last_heartbeat()
    context = {
        **admin.site.each_context(request),
        "title": "Operations",
        "queue": figures.queue(now),
        "failed_task_count": figures.failed_tasks(),
        "stripe": figures.stripe_events(),
        "beat_at": beat_at,
        "beat_age_seconds": int((now - beat_at).total_seconds()) if beat_at else None,
        "pool_size": figures.schema_pool_size(),
        "organisations": figures.organisations_by_status(),
        "schemas": figures.largest_schemas(),
        "failed_tasks": Task.objects.filter(success=False).order_by("-stopped")[
            :FAILED_TASKS_SHOWN
        ],
        "failed_events": WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED)
        .only("id", "event_id", "event_type", "error", "updated_at")
        .order_by("-updated_at")[:RECENT_ERRORS_SHOWN],
    }
    return TemplateResponse(request, "operations/admin/operations.html", context)


@require_POST
def retry_task(request, task_id):
    """Queue a failed task again with the same function and arguments, as django-q2's own
    "Resubmit" does, and forget the failure (a new failure is recorded if it fails again)."""
    failure = get_object_or_404(Task, pk=task_id, success=False)
    new_id = async_task(
        failure.func,
        *(failure.args or ()),
        hook=failure.hook,
        group=failure.group,
        **(failure.kwargs or {}),
    )
    record_event(
        "operations.task_retried",
        actor=request.user,
        data={"task": failure.func, "failed_task_id": failure.pk, "new_task_id": new_id},
        schema_name=get_public_schema_name(),
    )
    failure.delete()
    messages.success(request, f"{failure.name} ({failure.func}) was queued again.")
    return redirect("operations")

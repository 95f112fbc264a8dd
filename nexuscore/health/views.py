"""GET /health/: database, migrations and worker heartbeat, as JSON; 200 when all are fine.
A stopped worker is reported to staff from here (nexuscore/health/alerts.py).

GET /health/web/: whether this web machine can serve (its database connection and the schema's
migrations), for a load balancer: a stopped worker elsewhere must not take web machines out of
rotation."""

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_tenants.utils import get_public_schema_name

from nexuscore.health.alerts import report_worker_outage
from nexuscore.health.models import Heartbeat
from tenants.schemas import app_labels


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True}


def _migrations():
    """Unapplied migrations of the apps that have tables in the schema this host uses."""
    executor = MigrationExecutor(connection)
    labels = app_labels(tenant=connection.schema_name != get_public_schema_name())
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    pending = [migration for migration, _ in plan if migration.app_label in labels]
    return {"ok": not pending, "pending": len(pending)}


def _worker():
    """The heartbeat's age; a late one is reported to staff here, once per outage, because a
    dead worker cannot report itself and the load balancer polls this view all the time."""
    heartbeat = Heartbeat.objects.filter(name="worker").first()
    if heartbeat is None:
        return {"ok": False, "last_beat": None}
    late = heartbeat.is_late()
    if late and heartbeat.outage_reported_at is None:
        report_worker_outage(heartbeat)
    return {"ok": not late, "last_beat": heartbeat.beat_at.isoformat()}


WEB_CHECKS = (("database", _database), ("migrations", _migrations))


@require_GET
@never_cache
def health(request):
    return _answer((*WEB_CHECKS, ("worker", _worker)))


@require_GET
@never_cache
def web_health(request):
    return _answer(WEB_CHECKS)


def _answer(named_checks) -> JsonResponse:
    checks = {}
    for name, check in named_checks:
        try:
            checks[name] = check()
        except DatabaseError as error:
            checks[name] = {"ok": False, "error": str(error).splitlines()[0]}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )

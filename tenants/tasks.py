"""Work for an organisation, in its schema and its time zone.

The django-q2 worker starts in the public schema. A task for one organisation is enqueued with
`enqueue_in_schema(schema_name, "dotted.path", *args)`: the worker then runs the function with
the connection in that schema and the organisation's time zone active, as a request on its host
has (tenants.middleware), so dates in emails and reports agree with its pages. Arguments must be
primitives (ids, strings), and the function must be safe to run twice (delivery is at least
once). `for_each_organisation(func)` is the daily job's loop over every active organisation.
Each task enqueued here carries the id of the request that enqueued it into its log lines
(nexuscore.lib.logs.stamp_task, connected in tenants/apps.py).
"""

import logging
from collections.abc import Callable

from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.tasks import async_task
from django_tenants.utils import get_public_schema_name, schema_context

from nexuscore.lib.schedules import Recurring
from nexuscore.lib.tasks import survives_reconnect
from tenants.models import Tenant

SCHEDULES = [Recurring("fill schema pool", "tenants.schemas.fill_schema_pool", minutes=10)]

log = logging.getLogger(__name__)


@survives_reconnect
def run_in_schema(schema_name: str, func_path: str, args=(), kwargs=None):
    tenant = Tenant.objects.filter(schema_name=schema_name).first()
    zone = tenant.zone if tenant is not None else timezone.get_default_timezone()
    with schema_context(schema_name), timezone.override(zone):
        return import_string(func_path)(*args, **(kwargs or {}))


def enqueue_in_schema(schema_name: str, func_path: str, *args, **kwargs) -> str:
    """Enqueue `func_path(*args, **kwargs)` to run in `schema_name`; returns the task id."""
    return async_task(
        "tenants.tasks.run_in_schema", schema_name, func_path, args, kwargs, group=schema_name
    )


def for_each_organisation(func: Callable[[Tenant], int], *, include_public=False) -> int:
    """Call `func(tenant)` for each active organisation (and the public site's own, if asked),
    in its schema and time zone; returns the sum of what the calls return (counts of emails
    sent, rows changed). One organisation's failure is logged and does not stop the others."""
    organisations = Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("schema_name")
    if not include_public:
        organisations = organisations.exclude(schema_name=get_public_schema_name())
    total = 0
    for tenant in organisations:
        try:
            with schema_context(tenant.schema_name), timezone.override(tenant.zone):
                total += func(tenant) or 0
        except Exception:
            log.exception("%r failed for %s", func, tenant.schema_name)
    return total

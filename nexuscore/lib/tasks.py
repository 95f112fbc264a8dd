"""Tasks that work inside one organisation's schema.

The django-q2 worker starts in the public schema. A task for an organisation is enqueued with
`enqueue_in_schema(schema_name, "dotted.path", *args)`; the worker then runs the function with
the connection set to that schema. Arguments must be primitives (ids, strings), and the function
must be safe to run twice (delivery is at least once).
"""

from django.utils.module_loading import import_string
from django_q.tasks import async_task
from django_tenants.utils import schema_context


def run_in_schema(schema_name: str, func_path: str, args=(), kwargs=None):
    with schema_context(schema_name):
        return import_string(func_path)(*args, **(kwargs or {}))


def enqueue_in_schema(schema_name: str, func_path: str, *args, **kwargs) -> str:
    """Enqueue `func_path(*args, **kwargs)` to run in `schema_name`; returns the task id."""
    return async_task(
        "nexuscore.lib.tasks.run_in_schema", schema_name, func_path, args, kwargs, group=schema_name
    )

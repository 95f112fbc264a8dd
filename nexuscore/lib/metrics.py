"""Prometheus metrics: what each process counts, and the text a scrape of /metrics gets.

Counted as things happen, in the process where they happen: requests by view name and status
with their latency and database queries (RequestMetricsMiddleware), task runs and failures by
task (count_task, on django-q2's post_execute signal). Labels are the resolved URL name and the
task's function, never a path or an organisation, so their number stays that of the code.

With PROMETHEUS_MULTIPROC_DIR set (production), prometheus-client keeps every process's values
in files there and a scrape adds them up, so all gunicorn workers answer as one; the directory
is emptied when gunicorn starts (gunicorn.conf.py). Unset (development, tests), each process
has its own registry. The figures read from the database (queue, webhooks, pool...) are not
counted here but computed at scrape time by a collector the caller passes to exposition().
"""

import hmac
import ipaddress
import os
import time

from django.conf import settings
from django.db import connection
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from nexuscore.lib.ratelimit import client_address

REQUESTS = Counter(
    "nexuscore_http_requests", "Requests answered, by view name and status.", ["view", "status"]
)
LATENCY = Histogram(
    "nexuscore_http_request_duration_seconds",
    "Time from the request reaching our middleware to the response leaving it.",
    ["view", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
QUERIES = Histogram(
    "nexuscore_http_request_queries",
    "Database queries run while answering a request, by view name.",
    ["view"],
    buckets=(0, 1, 2, 5, 10, 20, 50, 100, 250),
)
TASK_RUNS = Counter("nexuscore_task_runs", "Tasks the worker finished, by task.", ["task"])
TASK_FAILURES = Counter(
    "nexuscore_task_failures", "Tasks that raised or timed out, by task.", ["task"]
)

CONTENT_TYPE = CONTENT_TYPE_LATEST
UNRESOLVED = "<unresolved>"  # no URL pattern matched (a 404 from the resolver, a redirect)


class _QueryCount:
    """A connection.execute_wrapper that only counts."""

    __slots__ = ("count",)

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def view_name(request) -> str:
    """The resolved URL's name ("leads:list"), or the view's dotted path when it has none."""
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None else UNRESOLVED


class RequestMetricsMiddleware:
    """Counts each request, its latency and its database queries. Placed early in MIDDLEWARE
    so the time includes the middleware after it; a few microseconds per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        queries = _QueryCount()
        start = time.perf_counter()
        with connection.execute_wrapper(queries):
            response = self.get_response(request)
        elapsed = time.perf_counter() - start
        view, status = view_name(request), str(response.status_code)
        REQUESTS.labels(view, status).inc()
        LATENCY.labels(view, status).observe(elapsed)
        QUERIES.labels(view).observe(queries.count)
        return response


def task_name(task: dict) -> str:
    """The function a django-q2 task ran; for a task run in an organisation's schema
    (tenants.tasks.run_in_schema), the function it ran there."""
    func = task.get("func")
    if not isinstance(func, str):
        func = f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', func)}"
    args = task.get("args") or ()
    if func == "tenants.tasks.run_in_schema" and len(args) > 1 and isinstance(args[1], str):
        return args[1]
    return func


def count_task(sender, task, **kwargs):
    """Receiver of django-q2's post_execute (sent by the cluster's monitor for every task)."""
    name = task_name(task)
    TASK_RUNS.labels(name).inc()
    if not task.get("success"):
        TASK_FAILURES.labels(name).inc()


def scrape_allowed(request) -> bool:
    """Whether this request may read /metrics: it carries settings.METRICS_TOKEN as a bearer
    token, or comes from an address or network in settings.METRICS_ALLOWED_IPS. With neither
    configured nobody may."""
    token = settings.METRICS_TOKEN
    if token:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
            return True
    if not settings.METRICS_ALLOWED_IPS:
        return False
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(allowed, strict=False)
        for allowed in settings.METRICS_ALLOWED_IPS
    )


class _ThisProcess:
    """The default registry's metrics, collected into the registry of one scrape."""

    def collect(self):
        yield from REGISTRY.collect()


def exposition(*collectors) -> bytes:
    """The Prometheus text of every process's counters plus `collectors` (computed now)."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)

"""Structured logs: who and what each log line is about, for requests and tasks alike.

Every line names its request id, organisation (the connection's schema) and user id, and inside
a task its name, attempt and the id of the request that enqueued it. `RequestLogMiddleware`
keeps the request in a context variable, answers with its `X-Request-ID` and writes one line per
request (method, path without the query string, status, duration); the django-q2 signal
receivers below do the same for tasks (tenants/apps.py connects them). `LogContextFilter` puts
these fields on each record; settings.LOGGING formats them as JSON (python-json-logger) in
production or as readable lines in development.

Cheap on purpose: a request costs a context variable and one log line. The user id is read only
when something already loaded the user (never a query of its own), and the query string is never
logged (it may carry an email address).
"""

import logging
import re
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db import connection
from django.utils.functional import empty

request_log = logging.getLogger("nexuscore.request")
task_log = logging.getLogger("nexuscore.task")

# A request id from the proxy or the client is kept when it looks like an id (a UUID, a
# load balancer's trace id), never when it could carry anything else into our logs.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/-]{7,127}")


@dataclass
class RequestContext:
    request_id: str
    request: object = None


@dataclass
class TaskContext:
    name: str
    request_id: str | None = None
    organisation: str | None = None  # the schema it works for, when the task says so
    attempt: int = 1
    started: float = field(default_factory=time.perf_counter)
    token: object = None  # to restore the enclosing context (a task run inline by another)


current_request: ContextVar[RequestContext | None] = ContextVar("current_request", default=None)
current_task: ContextVar[TaskContext | None] = ContextVar("current_task", default=None)


def current_request_id() -> str | None:
    """The id of the request (or of the request that enqueued the task) being served."""
    task = current_task.get()
    if task is not None:
        return task.request_id
    context = current_request.get()
    return context.request_id if context is not None else None


def current_organisation() -> str | None:
    """The schema this work is for: the connection's, or the task's once it left the schema."""
    schema = getattr(connection, "schema_name", None)
    task = current_task.get()
    if task is not None and task.organisation and schema in (None, "public"):
        return task.organisation
    return schema


def current_user_id():
    """The signed-in user's id, if something in this request has already loaded the user."""
    context = current_request.get()
    user = getattr(context.request, "user", None) if context is not None else None
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", user)  # a SimpleLazyObject not yet evaluated: unknown
    if wrapped is empty:
        return None
    return getattr(wrapped, "pk", None)


class LogContextFilter(logging.Filter):
    """Adds request_id, organisation, user_id and the task's fields to every record, and
    `context`, the same in a few words for the readable development format."""

    def filter(self, record):
        task = current_task.get()
        record.request_id = current_request_id()
        record.organisation = current_organisation()
        record.user_id = current_user_id()
        record.task = task.name if task is not None else None
        record.attempt = task.attempt if task is not None else None
        words = [record.organisation or "-"]
        if record.user_id is not None:
            words.append(f"user={record.user_id}")
        if record.task:
            words.append(f"task={record.task}#{record.attempt}")
        if record.request_id:
            words.append(f"request={record.request_id}")
        record.context = " ".join(words)
        return True


class RequestLogMiddleware:
    """Early in MIDDLEWARE: the request id (X-Request-ID when sane, else made), echoed in the
    response, and one log line for the request when its response is ready."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = given if SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = current_request.set(RequestContext(request_id, request))
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            if request_log.isEnabledFor(logging.INFO):
                duration_ms = round((time.perf_counter() - started) * 1000, 1)
                request_log.info(
                    "%s %s %s %.1f ms",
                    request.method,
                    request.path,
                    response.status_code,
                    duration_ms,
                    extra={
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": duration_ms,
                    },
                )
            return response
        finally:
            current_request.reset(token)


def set_attempt(attempt: int) -> None:
    """The running task's attempt (nexuscore.lib.tasks runs it again after a lost connection)."""
    task = current_task.get()
    if task is not None:
        task.attempt = attempt


def work_for(schema_name: str) -> None:
    """The running task works for this organisation from here on (a Stripe event, once its
    organisation is known), for its log lines and error reports."""
    task = current_task.get()
    if task is not None:
        task.organisation = schema_name


# django-q2 signal receivers (connected in tenants/apps.py). A task dict carries the id of the
# request that enqueued it under this key; django-q2 keeps unknown keys of the dict.
REQUEST_ID_KEY = "nexuscore_request_id"


def stamp_task(sender, task, **kwargs):
    """pre_enqueue: the task remembers the request that enqueued it."""
    request_id = current_request_id()
    if request_id:
        task[REQUEST_ID_KEY] = request_id


def _task_name(func) -> str:
    return func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"


def task_started(sender, func, task, **kwargs):
    """pre_execute, in the worker: the task's context for every line it logs."""
    name = _task_name(task.get("func", func))
    args = task.get("args") or ()
    organisation = task.get("group")
    if name == "tenants.tasks.run_in_schema" and args:
        name, organisation = f"{args[1]}", args[0]  # the function it runs, in that schema
    context = TaskContext(name, task.get(REQUEST_ID_KEY), organisation)
    context.token = current_task.set(context)


def task_finished(sender, func, task, **kwargs):
    """post_execute_in_worker: one line for the run (success or failure, duration)."""
    context = current_task.get()
    if context is None:
        return
    duration_ms = round((time.perf_counter() - context.started) * 1000, 1)
    success = bool(task.get("success"))
    task_log.log(
        logging.INFO if success else logging.WARNING,
        "task %s %s in %.1f ms",
        context.name,
        "succeeded" if success else "failed",
        duration_ms,
        extra={"task_id": task.get("id"), "success": success, "duration_ms": duration_ms},
    )
    current_task.reset(context.token)

"""Error reporting to Sentry, without personal data.

On only when SENTRY_DSN is set (settings.py calls `start_error_reporting`). Exceptions in
views reach Sentry through its Django integration; exceptions in django-q2 tasks through
`TaskErrorReporter`, which the worker calls inside its `except` (django-q2 catches every task's
exception itself); a Stripe event whose handler fails is reported by `report_error`. Each event
is tagged with the organisation's schema, the request id (and the task's name) and carries the
user's id alone (nexuscore.lib.logs knows them).

What we send abroad falls under the PDPA, so nothing personal leaves: `send_default_pii` off, no
request bodies, cookies, query strings or local variables, and `scrub` (before_send) removes our
own fields (emails, names, phone numbers, form data) and any email address left in a message.
"""

import re

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import ignore_logger
from sentry_sdk.scrubber import DEFAULT_DENYLIST, DEFAULT_PII_DENYLIST, EventScrubber

from nexuscore.lib.logs import (
    current_organisation,
    current_request_id,
    current_task,
    current_user_id,
)

# Keys whose values are personal data wherever they appear (extra, contexts, breadcrumbs' data).
PERSONAL_KEYS = [
    "email",
    "emails",
    "billing_email",
    "name",
    "first_name",
    "last_name",
    "full_name",
    "contact_name",
    "phone",
    "mobile",
    "company",
    "address",
    "billing_address",
    "notes",
    "login",
    "username",
    "ip_address",
    "x_forwarded_for",
    "x_real_ip",
    "remote_addr",
]
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Request headers worth keeping; every other header (cookies, forwarded addresses) is dropped.
KEPT_HEADERS = {"host", "user-agent", "content-type", "content-length", "x-request-id", "referer"}
FILTERED = "[Filtered]"


def start_error_reporting(dsn: str, *, environment: str, release: str, traces_sample_rate: float):
    """Turn Sentry on (settings.py, when SENTRY_DSN is set)."""
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        include_local_variables=False,  # a frame's locals hold form data, emails, leads
        max_request_body_size="never",
        event_scrubber=EventScrubber(
            denylist=DEFAULT_DENYLIST + PERSONAL_KEYS,
            pii_denylist=DEFAULT_PII_DENYLIST,
            recursive=True,
        ),
        before_send=scrub,
        before_send_transaction=scrub,
        before_breadcrumb=scrub_breadcrumb,
    )
    # The worker's "Failed ..." line repeats, as text, an exception TaskErrorReporter sends.
    ignore_logger("django-q")


def stop_error_reporting() -> None:
    """Turn Sentry off again (tests): send what is queued, then no client at all."""
    sentry_sdk.get_client().close(timeout=2)
    sentry_sdk.get_global_scope().set_client(None)


def _without_emails(value):
    if isinstance(value, str):
        return EMAIL.sub(FILTERED, value)
    if isinstance(value, dict):
        return {key: _without_emails(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_emails(item) for item in value]
    return value


def _scrub_request(request: dict) -> dict:
    url = request.get("url", "")
    kept = {"method": request.get("method"), "url": url.split("?", 1)[0]}
    headers = request.get("headers") or {}
    kept["headers"] = {key: value for key, value in headers.items() if key.lower() in KEPT_HEADERS}
    return kept


def scrub(event, hint=None):
    """before_send: tag the event with who and where, and keep nothing personal in it."""
    tags = event.setdefault("tags", {})
    organisation = current_organisation()
    if organisation:
        tags["organisation"] = organisation
    request_id = current_request_id()
    if request_id:
        tags["request_id"] = request_id
    task = current_task.get()
    if task is not None:
        tags["task"] = task.name
        tags["attempt"] = str(task.attempt)
    user_id = current_user_id()
    event["user"] = {"id": str(user_id)} if user_id is not None else {}
    if "request" in event:
        event["request"] = _scrub_request(event["request"])
    for key in ("logentry", "exception", "message", "extra", "breadcrumbs", "transaction"):
        if key in event:
            event[key] = _without_emails(event[key])
    return event


def scrub_breadcrumb(crumb, hint=None):
    return _without_emails(crumb)


def report_error(error: BaseException, **tags) -> None:
    """Send an exception that our code handles (a Stripe event's failing handler) to Sentry,
    with `tags`; nothing when Sentry is off."""
    with sentry_sdk.new_scope() as scope:
        for key, value in tags.items():
            scope.set_tag(key, value)
        sentry_sdk.capture_exception(error)


class TaskErrorReporter:
    """django-q2's error reporter interface: the worker calls `report()` inside its `except`
    for every task that raised (or timed out)."""

    def report(self):
        sentry_sdk.capture_exception()


def report_task_errors() -> None:
    """Have django-q2's worker report every task's exception (tenants/apps.py); with Sentry off,
    capture_exception does nothing.

    django-q2 loads reporters only from installed packages' entry points
    (`djangoq.errorreporters`); its worker calls whatever `django_q.worker.error_reporter` is,
    so ours is put there. tests/test_errors.py fails if a django-q2 upgrade changes this.
    """
    import django_q.worker  # here: django_q's modules need the app registry ready

    if django_q.worker.error_reporter is None:
        django_q.worker.error_reporter = TaskErrorReporter()

"""Emails to NexusCore's staff when something needs a person: a Stripe event that failed for
good (billing/webhooks.py), a worker that stopped and came back, an empty schema pool (here).

Each kind of alert goes out at most once an hour (tell_staff_once_an_hour): a mark in the
database cache, which every web and worker process shares, so a storm of failures is one email.

The worker check runs in /health/, which the load balancer polls, because the worker cannot
report its own death. Staff hear once per outage, when the heartbeat is older than
WORKER_STOPPED_AFTER: the first request that finds it so marks it reported (one conditional
UPDATE, so only one web process wins), and the first beat afterwards clears the mark and says it
is back. The schema pool is checked by a schedule (health/tasks.py).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.mail import send_mass_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from nexuscore.health.models import Heartbeat

log = logging.getLogger(__name__)

ALERT_INTERVAL = timedelta(hours=1)
WORKER_STOPPED_AFTER = timedelta(minutes=5)


def staff_addresses() -> list[str]:
    """Every active staff member's address."""
    staff = get_user_model().objects.active_staff().exclude(email="")
    return list(staff.order_by("email").values_list("email", flat=True))


def tell_staff(subject: str, body: str) -> int:
    """One email to each active staff member; returns how many were sent."""
    # Sent at once, not queued for a task: the worker that would send it may be what stopped.
    messages = [(subject, body, None, [address]) for address in staff_addresses()]
    return send_mass_mail(messages) if messages else 0


def _claim_alert(kind: str) -> bool:
    """Take this hour's turn to send an alert of `kind`: True for one caller per hour, in all
    processes (the cache's add is one INSERT, which only one caller wins)."""
    with schema_context(get_public_schema_name()):  # one key, whichever host asks
        return cache.add(f"staff-alert:{kind}", True, timeout=ALERT_INTERVAL.total_seconds())


def _release_alert(kind: str) -> None:
    """The alert could not be sent: let the next caller try."""
    with schema_context(get_public_schema_name()):
        cache.delete(f"staff-alert:{kind}")


def tell_staff_once_an_hour(kind: str, subject: str, body: str) -> int:
    """tell_staff(), unless an alert of `kind` went out in the last hour; returns how many
    emails were sent (0 when it was not this caller's turn)."""
    if not _claim_alert(kind):
        return 0
    try:
        return tell_staff(subject, body)
    except Exception:
        _release_alert(kind)
        raise


def report_worker_outage(heartbeat: Heartbeat, now=None) -> bool:
    """Tell staff that the heartbeat has stopped (older than WORKER_STOPPED_AFTER), once per
    outage and at most once an hour; True when this call did."""
    now = now or timezone.now()
    if now - heartbeat.beat_at <= WORKER_STOPPED_AFTER:
        return False
    if not heartbeat.mark_outage_reported(now):
        return False
    # Told of another outage this hour: not this one, so no "running again" either; a later
    # request tries again once the hour is over.
    if not _claim_alert("worker-stopped"):
        heartbeat.forget_outage_report(now)
        return False
    health_path = reverse("health", urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    try:
        tell_staff(
            f"The NexusCore {heartbeat.name} has stopped",
            render_to_string(
                "emails/staff_worker_stopped.txt",
                {"heartbeat": heartbeat, "health_url": f"{settings.SITE_URL}{health_path}"},
            ),
        )
    except Exception:  # any mail failure: the next request that finds it stopped tries again
        _release_alert("worker-stopped")
        heartbeat.forget_outage_report(now)
        log.exception("could not tell staff that the %s stopped", heartbeat.name)
        return False
    return True


def report_worker_back(name: str, reported_at) -> int:
    """Tell staff that a heartbeat they were told had stopped beats again."""
    context = {"name": name, "reported_at": reported_at, "now": timezone.now()}
    return tell_staff(
        f"The NexusCore {name} is running again",
        render_to_string("emails/staff_worker_back.txt", context),
    )


def report_empty_schema_pool(pool_size: int) -> int:
    """Tell staff, at most once an hour, that no pre-migrated schema is waiting: sign-ups
    migrate their own (slower) until the pool is filled again."""
    if pool_size > 0 or settings.SCHEMA_POOL_SIZE <= 0:  # a pool of 0 is a choice, not a fault
        return 0
    return tell_staff_once_an_hour(
        "schema-pool-empty",
        "The NexusCore schema pool is empty",
        render_to_string("emails/staff_schema_pool_empty.txt", {"size": settings.SCHEMA_POOL_SIZE}),
    )

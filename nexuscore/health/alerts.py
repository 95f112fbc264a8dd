"""Emails to NexusCore's staff when something needs a person: a Stripe event that failed for
good (billing/webhooks.py) or a worker that stopped and came back (here).

The worker check runs in /health/, which the load balancer polls, because the worker cannot
report its own death. Staff hear once per outage: the first request that finds the heartbeat too
old marks it reported (one conditional UPDATE, so only one web process wins), and the first beat
afterwards clears the mark and says it is back.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from nexuscore.health.models import Heartbeat

log = logging.getLogger(__name__)


def staff_addresses() -> list[str]:
    """Every active staff member's address."""
    staff = get_user_model().objects.active_staff().exclude(email="")
    return list(staff.order_by("email").values_list("email", flat=True))


def tell_staff(subject: str, body: str) -> int:
    """One email to each active staff member; returns how many were sent."""
    # Sent at once, not queued for a task: the worker that would send it may be what stopped.
    messages = [(subject, body, None, [address]) for address in staff_addresses()]
    return send_mass_mail(messages) if messages else 0


def report_worker_outage(heartbeat: Heartbeat, now=None) -> bool:
    """Tell staff that the heartbeat has stopped, once per outage; True when this call did."""
    now = now or timezone.now()
    if not heartbeat.mark_outage_reported(now):
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

"""Scheduled work for leads: the daily follow-up digest.

`send_follow_up_digests` runs once a day (a django-q2 schedule) in the public schema and visits
every organisation's schema in turn. Each person gets at most one digest a day: the
FollowUpDigest row is written in the same transaction that queues the digest in the outbox
(nexuscore/mail/outbox.py, sent after the commit), so running the task twice (django-q2 delivers
at least once) sends nothing more.
"""

import logging
from collections import defaultdict
from datetime import datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from nexuscore.leads.models import FollowUpDigest, Lead
from nexuscore.lib.schedules import Recurring
from nexuscore.mail.outbox import queue_email
from tenants.tasks import for_each_organisation

SCHEDULES = [
    Recurring("follow-up digests", "nexuscore.leads.tasks.send_follow_up_digests", daily_at=9),
    Recurring(
        "imports: resume stalled", "nexuscore.leads.imports.resume_stalled_imports", minutes=5
    ),
]

log = logging.getLogger(__name__)


def send_follow_up_digests(now=None) -> int:
    """Email each member their follow-ups due today, in every active organisation. Returns
    how many emails went out."""
    return for_each_organisation(lambda tenant: send_follow_up_digests_for(tenant, now))


def send_follow_up_digests_for(tenant, now=None) -> int:
    """The digests of one organisation; the connection must be in its schema."""
    from tenants.models import Membership

    now = now or timezone.now()
    zone = tenant.zone
    today = now.astimezone(zone).date()
    start = datetime.combine(today, time.min, tzinfo=zone)
    end = start + timedelta(days=1)
    due = (
        Lead.objects.filter(
            next_follow_up__gte=start, next_follow_up__lt=end, assigned_to__isnull=False
        )
        .exclude(status__in=[Lead.Status.WON, Lead.Status.LOST])
        .order_by("next_follow_up")
        .only("id", "name", "company", "next_follow_up", "assigned_to")
    )
    by_person = defaultdict(list)
    for lead in due:
        lead.url = tenant.absolute_url(lead.get_absolute_url())
        by_person[lead.assigned_to_id].append(lead)
    if not by_person:
        return 0
    members = Membership.objects.filter(tenant=tenant, user_id__in=by_person).select_related("user")
    already = set(
        FollowUpDigest.objects.filter(day=today, user_id__in=by_person).values_list(
            "user_id", flat=True
        )
    )
    sent = 0
    for membership in members:
        person = membership.user
        if person.pk in already or not person.wants_email("follow_ups"):
            continue
        leads = by_person[person.pk]
        context = {
            "person": person,
            "tenant": tenant,
            "leads": leads,
            "leads_url": tenant.url_for("leads:list") + "?assigned=me&due=today",
        }
        try:
            with transaction.atomic():
                FollowUpDigest.objects.create(user=person, day=today, lead_count=len(leads))
                queue_email(
                    subject=f"{len(leads)} follow-up{'s' if len(leads) != 1 else ''} due today "
                    f"in {tenant.name}",
                    body=render_to_string("emails/follow_ups.txt", context),
                    to=[person.email],
                    html_body=render_to_string("emails/follow_ups.html", context),
                    dedupe_key=f"digest:{tenant.schema_name}:{person.pk}:{today.isoformat()}",
                    schema_name=tenant.schema_name,
                )
        except IntegrityError:
            continue  # another run sent it a moment ago
        sent += 1
    return sent

"""Scheduled work for leads: the daily follow-up digest.

`send_follow_up_digests` runs once a day (a django-q2 schedule) in the public schema and visits
every organisation's schema in turn. Each person gets at most one digest a day: the
FollowUpDigest row is written in the same transaction as the sending, so running the task twice
(django-q2 delivers at least once) sends nothing more.
"""

import logging
import zoneinfo
from collections import defaultdict
from datetime import datetime, time, timedelta

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_tenants.utils import schema_context

from nexuscore.leads.actions import tenant_link
from nexuscore.leads.models import FollowUpDigest, Lead

log = logging.getLogger(__name__)


def send_follow_up_digests(now=None) -> int:
    """Email each member their follow-ups due today, in every active organisation. Returns
    how many emails went out."""
    from tenants.models import Tenant

    sent = 0
    tenants = Tenant.objects.exclude(schema_name="public").filter(status=Tenant.Status.ACTIVE)
    for tenant in tenants:
        with schema_context(tenant.schema_name):
            try:
                sent += send_follow_up_digests_for(tenant, now)
            except Exception:  # one organisation's failure must not stop the others
                log.exception("Follow-up digests failed for %s", tenant.schema_name)
    return sent


def send_follow_up_digests_for(tenant, now=None) -> int:
    """The digests of one organisation; the connection must be in its schema."""
    from tenants.models import Membership

    now = now or timezone.now()
    zone = zoneinfo.ZoneInfo(tenant.timezone or "Asia/Singapore")
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
        lead.url = tenant_link(tenant, lead.get_absolute_url())
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
            "leads_url": tenant_link(tenant, "/leads/?assigned=me&due=today"),
        }
        try:
            with transaction.atomic():
                FollowUpDigest.objects.create(user=person, day=today, lead_count=len(leads))
                send_mail(
                    subject=f"{len(leads)} follow-up{'s' if len(leads) != 1 else ''} due today "
                    f"in {tenant.name}",
                    message=render_to_string("emails/follow_ups.txt", context),
                    from_email=None,
                    recipient_list=[person.email],
                    html_message=render_to_string("emails/follow_ups.html", context),
                )
        except IntegrityError:
            continue  # another run sent it a moment ago
        sent += 1
    return sent

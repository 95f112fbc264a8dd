"""Time building an access export in a tenant with 100,000 leads (goal: at most 2 s).

Run by `python -m bench` with DATABASE_URL pointing at the bench database (after the
leads lines, which already put 100,000 leads in acme; run on its own it adds what is missing
with the same helper). The person asked about has three leads with notes among them, and a
look-alike address (joann@ beside ann@) that must not be matched. The task runs inline, as the
worker would run it, archive stored in a temporary media folder. JSON lines on stdout.
"""
# ruff: noqa: E402  (Django is set up before the models are imported)

import os
import tempfile
import time
import uuid

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexuscore.settings")
# The export emails the person: keep it in memory, not in the developer's outbox.
os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
django.setup()

from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from bench.report import metric, progress
from nexuscore.demo.leads import create_demo_leads
from nexuscore.leads import actions as lead_actions
from nexuscore.leads.models import Lead
from nexuscore.privacy.export import build_export
from nexuscore.privacy.models import DSARRequest
from tenants.models import Membership, Tenant

LEADS = 100_000
GOAL_S = 2
RUN = uuid.uuid4().hex[:8]  # each run asks about a person of its own
PERSON = f"ann.{RUN}@example.sg"
LOOK_ALIKE = f"joann.{RUN}@example.sg"


def _ensure_leads(tenant) -> int:
    with schema_context(tenant.schema_name):
        count = Lead.objects.count()
    if count < LEADS:
        people = [m.user for m in Membership.objects.filter(tenant=tenant).select_related("user")]
        progress(f"adding {LEADS - count:,} leads to acme")
        create_demo_leads(tenant, people, LEADS - count, add_to_existing=True)
        with schema_context(tenant.schema_name), connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE leads_lead")
    with schema_context(tenant.schema_name):
        return Lead.objects.count()


def main() -> None:
    tenant = Tenant.objects.get(schema_name="acme")
    total = _ensure_leads(tenant)
    # Nothing lands in the developer's media folder.
    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="nexuscore-bench-privacy-")
    with schema_context("acme"):
        for n in range(3):
            lead = Lead.objects.create(name=f"Ann Bench {n}", email=PERSON, source="capture_form")
            lead_actions.add_note(lead, f"Note {n} about Ann", actor=None)
        Lead.objects.create(name="Joann Bench", email=LOOK_ALIKE, source="capture_form")
        request = DSARRequest(email=PERSON.upper(), request_type="access", status="processing")
        request.new_token()
        request.save()
        started = time.perf_counter()
        build_export(str(request.pk))
        elapsed = time.perf_counter() - started
        request.refresh_from_db()
        size = request.export_file.size if request.export_file else 0
        exported = request.metadata.get("exported", {})
        if request.export_file:
            request.export_file.delete(save=False)
    if request.status != DSARRequest.Status.COMPLETED or exported.get("leads") != 3:
        progress(f"the export did not work: {request.status} {request.failure_reason} {exported}")
        raise SystemExit(1)
    metric(
        "privacy_export_100k_s",
        round(elapsed, 3),
        "s",
        at_most=GOAL_S,
        leads_in_schema=total,
        leads_exported=exported["leads"],
        zip_bytes=size,
    )


if __name__ == "__main__":
    main()

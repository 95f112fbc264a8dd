"""Faults: the database restarted in the middle of a task, the worker killed mid-task, the same
task run twice. Afterwards nothing is lost, nothing is applied twice, and the work completes.

The tasks run in child processes against a database of their own (tests/fixtures_faults.py):
a CSV import and a Stripe webhook's processing through `manage.py shell`, and a real
`manage.py qcluster` for the worker that is killed and for two deliveries of one task.
"The database restarted" is simulated the way a client meets it, by terminating the server
processes serving the child (`pg_terminate_backend`, chosen by application name), never by
stopping the shared server. "In the middle" is reached deterministically: the test holds a row
lock the task needs, waits until the task is blocked by it, and strikes then.

The last tests run each task twice in this process and count what it did once.
"""

import csv
import io
import json
import os
import signal
from datetime import timedelta

import pytest
from django_tenants.utils import schema_context

from tests.fixtures_billing import stripe_event, stripe_object
from tests.fixtures_faults import as_json

pytestmark = pytest.mark.faults

ROWS = 1200  # two chunks: 1,000 rows, then 200
CHUNK = 1000
EXISTING = 1050  # the row whose email is already a lead (updated, in the second chunk)
BAD_EMAILS = (10, 1150)  # rejected in the first and in the second chunk
REPEATED = (1100, 5)  # row 1100 repeats the email of row 5, a chunk earlier


def spreadsheet_row(index: int) -> int:
    return index + 2  # the header is row 1


def import_file(tag: str) -> bytes:
    lines = ["Name,Email"]
    for index in range(ROWS):
        email = f"person{index}@{tag}.faults.test"
        if index in BAD_EMAILS:
            email = "not-an-email"
        elif index == REPEATED[0]:
            email = f"person{REPEATED[1]}@{tag}.faults.test"
        elif index == EXISTING:
            email = f"existing@{tag}.faults.test"
        lines.append(f"Person {index},{email}")
    return ("\n".join(lines) + "\n").encode()


CREATE_IMPORT = """
import json, os
from django.core.files.base import ContentFile
from django_tenants.utils import schema_context
from nexuscore.accounts.models import User
from nexuscore.leads.models import Lead, LeadImport
from tenants.tasks import enqueue_in_schema

tag = os.environ["FAULTS_TAG"]
with schema_context("acme"):
    existing = Lead.objects.create(name="Someone Else", email=f"existing@{tag}.faults.test")
    lead_import = LeadImport(
        created_by=User.objects.get(email="owner@acme.test"),
        original_name=f"{tag}.csv",
        headers=["Name", "Email"],
        mapping={"0": "name", "1": "email"},
        duplicates=LeadImport.Duplicates.UPDATE,
        status=LeadImport.Status.QUEUED,
    )
    with open(os.environ["FAULTS_CSV"], "rb") as handle:
        lead_import.file.save(f"{tag}.csv", ContentFile(handle.read()), save=False)
    lead_import.save()
    if os.environ.get("FAULTS_ENQUEUE"):
        enqueue_in_schema("acme", "nexuscore.leads.imports.run_import", str(lead_import.pk))
print(json.dumps({"import": str(lead_import.pk), "existing": str(existing.pk)}))
"""

RUN_IMPORT = """
from tenants.tasks import run_in_schema
run_in_schema("acme", "nexuscore.leads.imports.run_import", ({import_id!r},))
print("finished")
"""


def create_import(world, tag: str, enqueue=False) -> dict:
    path = world.data_dir / f"{tag}.csv"
    path.write_bytes(import_file(tag))
    env = {"FAULTS_TAG": tag, "FAULTS_CSV": str(path), "FAULTS_ENQUEUE": "1" if enqueue else ""}
    return as_json(world.run(CREATE_IMPORT, **env))


def import_progress(world, import_id: str) -> tuple:
    return world.query(
        "SELECT status, processed FROM acme.leads_leadimport WHERE id = %s", [import_id]
    )[0]


def assert_imported_once(world, ids: dict, tag: str) -> None:
    """Every row counted once, every lead written once, the report complete."""
    import_id = ids["import"]
    row = world.query(
        "SELECT status, total, processed, created, updated, skipped, rejected, report"
        " FROM acme.leads_leadimport WHERE id = %s",
        [import_id],
    )[0]
    new_leads = ROWS - len(BAD_EMAILS) - 1 - 1  # less the rejected rows, the repeat, the update
    assert row[:7] == ("done", ROWS, ROWS, new_leads, 1, 0, len(BAD_EMAILS) + 1)
    leads = world.query(
        "SELECT count(*), count(DISTINCT email) FROM acme.leads_lead WHERE email LIKE %s",
        [f"%@{tag}.faults.test"],
    )[0]
    assert leads == (new_leads + 1, new_leads + 1)  # with the lead that was already there
    updated = world.value("SELECT name FROM acme.leads_lead WHERE id = %s", [ids["existing"]])
    assert updated == f"Person {EXISTING}"
    usage = world.value(
        "SELECT coalesce(sum(amount), 0) FROM public.quotas_usageevent"
        " WHERE metric = 'leads.created' AND metadata->>'import' = %s",
        [import_id],
    )
    assert usage == new_leads
    finished = world.value(
        "SELECT count(*) FROM acme.audit_event"
        " WHERE event_type = 'leads.import_finished' AND data->>'import' = %s",
        [import_id],
    )
    assert finished == 1
    report = (world.data_dir / "media" / "acme" / row[7]).read_text(encoding="utf-8-sig")
    reported = list(csv.reader(io.StringIO(report)))[1:]
    assert [(int(number), reason) for number, reason, *_ in reported] == [
        (spreadsheet_row(BAD_EMAILS[0]), "“not-an-email” is not an email address"),
        (spreadsheet_row(REPEATED[0]), f"the same email as row {spreadsheet_row(REPEATED[1])}"),
        (spreadsheet_row(BAD_EMAILS[1]), "“not-an-email” is not an email address"),
    ]


def lock_existing_lead(world, ids: dict):
    """Hold the lead that the second chunk updates: the import stops inside that chunk."""
    return world.lock("SELECT id FROM acme.leads_lead WHERE id = %s FOR UPDATE", [ids["existing"]])


def test_a_database_restart_in_the_middle_of_an_import(fault_world):
    world = fault_world
    ids = create_import(world, "restart")
    holder = lock_existing_lead(world, ids)
    try:
        task = world.start_task(RUN_IMPORT.format(import_id=ids["import"]), "faults-import")
        world.wait_until_blocked(holder, "faults-import")
        # The first chunk is in; the second is half-written in an open transaction.
        assert import_progress(world, ids["import"]) == ("running", CHUNK)
        assert world.restart_database("faults-import") == 1
    finally:
        holder.rollback()
        holder.close()
    output = world.finish(task)
    assert "lost the database" in output  # it was interrupted, and went on by itself
    assert output.strip().endswith("finished")
    assert_imported_once(world, ids, "restart")


CREATE_WEBHOOK = """
import json, os
from django.db import transaction
from django_q.tasks import async_task
from nexuscore.billing.models import WebhookEvent

event = json.loads(os.environ["FAULTS_EVENT"])
with transaction.atomic():  # as the webhook endpoint stores and enqueues it
    webhook = WebhookEvent.objects.create(
        event_id=event["id"], event_type=event["type"], payload=event
    )
    if os.environ.get("FAULTS_ENQUEUE"):
        async_task("nexuscore.billing.webhooks.process_webhook_event", str(webhook.pk))
print(json.dumps({"webhook": str(webhook.pk)}))
"""

PROCESS_WEBHOOK = """
from nexuscore.billing.webhooks import process_webhook_event
print(process_webhook_event({webhook_id!r}))
"""


def invoice_paid(world, tag: str) -> dict:
    """invoice.paid for acme of the fault world."""
    return invoice_paid_for(
        str(world.value("SELECT id FROM public.tenants_tenant WHERE schema_name = 'acme'")), tag
    )


def invoice_paid_for(tenant_id: str, tag: str) -> dict:
    invoice = stripe_object(
        "invoice",
        id=f"in_faults_{tag}",
        customer=f"cus_faults_{tag}",
        currency="sgd",
        status="paid",
        subtotal=14900,
        subtotal_excluding_tax=14900,
        total=14900,
        amount_due=14900,
        amount_paid=14900,
        due_date=None,
        metadata={"tenant_id": tenant_id},
        parent=None,
        status_transitions={"finalized_at": None, "paid_at": None},
    )
    invoice["lines"]["data"][0].update(amount=14900, description="NexusCore Growth (monthly)")
    return stripe_event("invoice.paid", invoice, event_id=f"evt_faults_{tag}")


def store_webhook(world, event: dict, enqueue=False) -> str:
    env = {"FAULTS_EVENT": json.dumps(event), "FAULTS_ENQUEUE": "1" if enqueue else ""}
    return as_json(world.run(CREATE_WEBHOOK, **env))["webhook"]


SEND_QUEUED_MAIL = """
from django.utils import timezone
from nexuscore.mail.outbox import LOST_AFTER, send_unsent
print(send_unsent(now=timezone.now() + LOST_AFTER))
"""


def assert_paid_once(world, event: dict) -> None:
    """One tax invoice, numbered without a gap, paid; one email; the event processed."""
    stripe_id = event["data"]["object"]["id"]
    invoices = world.query(
        "SELECT number, status FROM public.billing_invoice WHERE stripe_invoice_id = %s",
        [stripe_id],
    )
    assert len(invoices) == 1
    number, status = invoices[0]
    assert status == "paid"
    last = world.value("SELECT last_value FROM public.billing_invoicesequence WHERE prefix = 'INV'")
    assert number == f"INV-{last:06d}"  # the interrupted attempt's number was rolled back
    queued = world.value(
        "SELECT count(*) FROM public.mail_outboundemail WHERE subject LIKE %s",
        [f"Tax invoice {number} %"],
    )
    assert queued == 1
    # Without a worker (the restart test) the mail waits in the outbox: its schedule sends it.
    world.run(SEND_QUEUED_MAIL, Q_SYNC="1")
    mails = [mail for mail in world.outbox() if f"Tax invoice {number} " in mail]
    assert len(mails) == 1
    webhook = world.query(
        "SELECT status, attempts, error FROM public.billing_webhookevent WHERE event_id = %s",
        [event["id"]],
    )
    assert webhook == [("processed", 0, "")]
    retries = world.value(
        "SELECT count(*) FROM public.django_q_schedule WHERE name LIKE 'retry webhook %%'"
    )
    assert retries == 0


def test_a_database_restart_in_the_middle_of_webhook_processing(fault_world):
    world = fault_world
    event = invoice_paid(world, "restart")
    webhook_id = store_webhook(world, event)
    # invoice.paid records the invoice, then activates the organisation: hold the organisation.
    holder = world.lock(
        "SELECT id FROM public.tenants_tenant WHERE schema_name = 'acme' FOR UPDATE"
    )
    try:
        task = world.start_task(PROCESS_WEBHOOK.format(webhook_id=webhook_id), "faults-webhook")
        blocked = world.wait_until_blocked(holder, "faults-webhook")
        # The invoice is written, numbered and not committed yet.
        writing_invoices = world.value(
            "SELECT count(*) FROM pg_locks JOIN pg_class ON pg_class.oid = pg_locks.relation"
            " WHERE pg_locks.pid = %s AND relname = 'billing_invoice'"
            " AND mode = 'RowExclusiveLock'",
            [blocked],
        )
        assert writing_invoices == 1
        assert world.restart_database("faults-webhook") == 1
    finally:
        holder.rollback()
        holder.close()
    output = world.finish(task)
    assert "lost the database" in output
    assert output.strip().endswith("processed")
    assert_paid_once(world, event)


def test_a_worker_killed_in_the_middle_of_a_task_and_one_task_delivered_twice(fault_world):
    """A real cluster, one worker: the import's worker is killed mid-chunk and the task is
    delivered again `retry` seconds later; a webhook task sits in the queue twice (as when a
    slow worker's task is handed out again) and runs twice. Each outcome once."""
    world = fault_world
    world.query("DELETE FROM public.django_q_ormq RETURNING id")  # what seed_demo left queued
    ids = create_import(world, "killed", enqueue=True)
    event = invoice_paid(world, "twice")
    store_webhook(world, event, enqueue=True)
    world.query(
        "INSERT INTO public.django_q_ormq (key, payload, lock)"
        " SELECT key, payload, lock FROM public.django_q_ormq"
        " WHERE payload = (SELECT payload FROM public.django_q_ormq ORDER BY id DESC LIMIT 1)"
        " RETURNING id"
    )
    assert world.value("SELECT count(*) FROM public.django_q_ormq") == 3
    holder = lock_existing_lead(world, ids)
    cluster = world.start(
        ["qcluster"],
        "faults-cluster",
        Q_WORKERS="1",
        Q_TIMEOUT="10",
        Q_RETRY="12",
        LOG_LEVEL="INFO",
    )
    try:
        try:
            worker = int(world.wait_for_log(cluster, r"ready for work at (\d+)").group(1))
            world.wait_until_blocked(holder, "faults-cluster")
            assert import_progress(world, ids["import"]) == ("running", CHUNK)
            os.kill(worker, signal.SIGKILL)
            world.wait_for_log(cluster, r"reincarnated worker \S+ after death")
        finally:
            holder.rollback()
            holder.close()
        world.wait_until(
            lambda: import_progress(world, ids["import"])[0] == "done",
            "the import delivered again and finished",
            seconds=90,
        )
        world.wait_until(
            lambda: world.value("SELECT count(*) FROM public.django_q_ormq") == 0,
            "every delivery acknowledged",
        )
    finally:
        world.stop(cluster)
    assert_imported_once(world, ids, "killed")
    assert_paid_once(world, event)
    log = world.log(cluster)
    assert "Failed" not in log, log


# --- The same task twice, in this process -------------------------------------------------------


def test_webhook_tasks_twice_issue_one_invoice_one_credit_note_one_email(
    acme, billing_media, webhook_secret, fake_stripe, mailoutbox
):
    from nexuscore.billing.models import Invoice, WebhookEvent
    from nexuscore.billing.webhooks import process_webhook_event
    from tests.fixtures_billing import deliver

    paid = invoice_paid_for(str(acme.pk), "inline")
    assert deliver(paid).status_code == 200
    fake_stripe.invoice_for_payment_intent["pi_faults_inline"] = "in_faults_inline"
    charge = stripe_object("charge", id="ch_faults", payment_intent="pi_faults_inline")
    refund = stripe_event("charge.refunded", {**charge, "amount_refunded": 5450})
    assert deliver(refund).status_code == 200
    for event in (paid, refund):
        webhook = WebhookEvent.objects.get(event_id=event["id"])
        assert process_webhook_event(str(webhook.pk)) == "processed"  # the task, again
        assert deliver(event).status_code == 200  # and Stripe delivering it again
    invoice = Invoice.objects.get(stripe_invoice_id="in_faults_inline")
    assert invoice.status == "paid"
    assert Invoice.objects.filter(credit_note_for=invoice).count() == 1
    assert [mail.subject for mail in mailoutbox if invoice.number in mail.subject] == [
        f"Tax invoice {invoice.number} from NexusCore (paid)"
    ]


def test_digests_and_trial_reminders_twice_send_one_email(
    acme, member, mailoutbox, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from nexuscore.billing.models import Subscription
    from nexuscore.leads.models import Lead
    from nexuscore.leads.tasks import send_follow_up_digests
    from nexuscore.onboarding.tasks import send_trial_reminders

    with schema_context(acme.schema_name):
        Lead.objects.create(name="Due Today", assigned_to=member, next_follow_up=timezone.now())
    subscription = Subscription.objects.live().get(tenant=acme)
    subscription.status = Subscription.Status.TRIALING
    subscription.trial_end = timezone.now() + timedelta(days=2)
    subscription.save()
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):  # each run commits, then mails
            send_follow_up_digests()
            send_trial_reminders()
    digests = [mail for mail in mailoutbox if "due today" in mail.subject]
    assert [mail.to for mail in digests] == [[member.email]]
    reminders = [mail for mail in mailoutbox if mail.to == ["owner@acme.test"]]
    assert len(reminders) == 1


def test_an_access_export_twice_is_built_and_counted_once(acme, privacy_media, mailoutbox):
    from nexuscore.privacy.models import DSARRequest
    from nexuscore.quotas.models import UsageEvent
    from tenants.tasks import run_in_schema

    with schema_context(acme.schema_name):
        request = DSARRequest.objects.create(
            email="ann@example.sg",
            request_type=DSARRequest.Type.ACCESS,
            status=DSARRequest.Status.PROCESSING,
        )
    for _ in range(2):
        run_in_schema(acme.schema_name, "nexuscore.privacy.export.build_export", (str(request.pk),))
    with schema_context(acme.schema_name):
        request.refresh_from_db()
        assert request.status == DSARRequest.Status.COMPLETED
        assert request.export_file
    counted = UsageEvent.objects.filter(metric="privacy.exports", metadata__request=str(request.pk))
    assert counted.count() == 1
    assert [mail.to for mail in mailoutbox] == [["ann@example.sg"]]

"""manage.py seed_scale: many organisations with realistic data, for benches and scale checks.

    manage.py seed_scale                      # 1,000 organisations, one of them with 100,000 leads
    manage.py seed_scale --tenants 50 --big-leads 5000

Organisations `scale0001` ... `scale<N>` (hosts `scale0001.<base domain>`), each created by
`provision_tenant()` from the schema pool, which is filled first in worker processes
(`fill_schema_pool(workers=...)`). Each gets:

- people: an owner and 0 to 7 more members with mixed roles (password `nexuscore-demo`, email
  verified), `owner@scale0001.test`, `member2@scale0001.test`, ...;
- a plan: most on a paid subscription (active, a few past due), some still in their trial;
- leads: 10 to 200 (`nexuscore.demo.leads.create_demo_leads`, bulk inserts), and `scale0001`
  `--big-leads` (100,000) of them;
- invoices: one per month paid so far (up to 3) for paying organisations, numbered from the
  gapless INV series in one block, the latest open and the others paid;
- privacy requests: 0 to 3 from its leads, unconfirmed, open or done.

Never in production. Safe to run again: organisations that exist are left alone.
"""

import random
import time
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_q.models import OrmQ
from django_tenants.utils import schema_context
from stdnum.sg.uen import calc_local_company_check_digit

from nexuscore.accounts.models import User
from nexuscore.billing.models import (
    Invoice,
    InvoiceSequence,
    Plan,
    Subscription,
    tax_treatment,
)
from nexuscore.demo.leads import COMPANIES, FAMILY, GIVEN, create_demo_leads
from nexuscore.leads.models import Lead
from nexuscore.onboarding.provisioning import provision_tenant
from nexuscore.privacy.models import DEADLINE_DAYS, DSARRequest
from tenants.management.commands.ensure_public_site import ensure_public_site
from tenants.models import Membership, Tenant
from tenants.schemas import fill_schema_pool

PASSWORD = "nexuscore-demo"
SUFFIXES = ["Pte. Ltd.", "Pte. Ltd.", "Pte. Ltd.", "LLP", "Holdings Pte. Ltd.", "Enterprise"]
ROLES = [Membership.Role.ADMIN, Membership.Role.MEMBER, Membership.Role.MEMBER]
ROLES += [Membership.Role.MEMBER, Membership.Role.VIEWER]


def slug_of(number: int) -> str:
    return f"scale{number:04d}"


def uen_of(number: int) -> str:
    """A valid local-company UEN, unique per `number` (registered in 2025)."""
    digits = f"2025{number:05d}"
    return digits + calc_local_company_check_digit(digits)


def seed_privacy_requests(tenant, rng) -> int:
    """0 to 3 privacy requests from people among the organisation's leads: waiting for their
    confirmation, open with their 30-day clock running (some near the deadline), or done."""
    statuses = [
        DSARRequest.Status.UNVERIFIED,
        DSARRequest.Status.OPEN,
        DSARRequest.Status.OPEN,
        DSARRequest.Status.COMPLETED,
    ]
    now = timezone.now()
    with schema_context(tenant.schema_name):
        emails = list(Lead.objects.values_list("email", flat=True)[: rng.randint(0, 3)])
        requests = []
        for email in emails:
            request = DSARRequest(
                email=email,
                request_type=rng.choice(DSARRequest.Type.values),
                status=rng.choice(statuses),
            )
            request.new_token()
            if request.status != DSARRequest.Status.UNVERIFIED:
                request.verified_at = now - timedelta(days=rng.randint(0, 35), hours=3)
                request.due_at = request.verified_at + timedelta(days=DEADLINE_DAYS)
            if request.status == DSARRequest.Status.COMPLETED:
                request.processed_at = request.verified_at + timedelta(days=rng.randint(1, 20))
            requests.append(request)
        DSARRequest.objects.bulk_create(requests)
        for request in requests:  # requested_at is set on insert; filed before confirmed
            if request.verified_at:
                DSARRequest.objects.filter(pk=request.pk).update(
                    requested_at=request.verified_at - timedelta(hours=1)
                )
    return len(requests)


class Command(BaseCommand):
    help = "Create N organisations with members, leads, subscriptions and invoices (not prod)."

    def add_arguments(self, parser):
        parser.add_argument("--tenants", type=int, default=1000, help="Default 1,000.")
        parser.add_argument(
            "--big-leads", type=int, default=100_000, help="Leads of scale0001 (default 100,000)."
        )
        parser.add_argument("--workers", type=int, default=2, help="Processes filling the pool.")

    def handle(self, *args, tenants, big_leads, workers, verbosity, **options):
        if settings.PRODUCTION:
            raise CommandError("Scale data is never loaded in production.")
        started = time.monotonic()
        self.verbosity = verbosity
        ensure_public_site()
        wanted = list(range(1, tenants + 1))
        existing = set(
            Tenant.objects.filter(schema_name__in=[slug_of(n) for n in wanted]).values_list(
                "schema_name", flat=True
            )
        )
        missing = [n for n in wanted if slug_of(n) not in existing]
        self.note(f"{len(existing)} of {tenants} organisations exist; creating {len(missing)}")
        if not missing:
            return
        step = time.monotonic()
        fill_schema_pool(len(missing) + settings.SCHEMA_POOL_SIZE, workers=workers)
        self.note(f"schema pool filled in {time.monotonic() - step:.1f} s")

        plans = list(Plan.objects.on_sale().order_by("amount_cents"))
        password = make_password(PASSWORD)  # hashed once: PBKDF2 per person would take minutes
        counts = {"people": 0, "leads": 0, "invoices": 0, "privacy": 0}
        step = time.monotonic()
        for done, number in enumerate(missing, start=1):
            rng = random.Random(number)
            leads = big_leads if number == 1 else rng.randint(10, 200)
            self.organisation(number, rng, plans, password, leads, counts)
            if done % 100 == 0 or done == len(missing):
                self.note(f"{done}/{len(missing)} organisations, {time.monotonic() - step:.0f} s")
        self.forget_pool_refills()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # the planner's statistics, for the benches that follow
        self.note(
            f"done in {time.monotonic() - started:.0f} s: {len(missing)} organisations, "
            f"{counts['people']} people, {counts['leads']} leads, {counts['invoices']} invoices, "
            f"{counts['privacy']} privacy requests"
        )

    def note(self, message):
        if self.verbosity:
            self.stdout.write(f"seed_scale: {message}")

    def organisation(self, number, rng, plans, password, leads, counts):
        slug = slug_of(number)
        people = self.people(slug, rng, password)
        plan = rng.choice(plans)
        name = f"{rng.choice(COMPANIES)} {rng.choice(SUFFIXES)}"
        tenant = provision_tenant(
            name=name,
            slug=slug,
            owner=people[0],
            plan=plan,
            uen=uen_of(number),
            billing_email=f"accounts@{slug}.test",
            billing_address={"street": f"{number} Scale Road", "postal_code": "018989"},
        )
        Membership.objects.bulk_create(
            Membership(tenant=tenant, user=person, role=rng.choice(ROLES), invited_by=people[0])
            for person in people[1:]
        )
        counts["people"] += len(people)
        workers = [person for person in people if person.email.startswith(("owner", "member"))]
        counts["leads"] += create_demo_leads(tenant, workers, leads)
        if rng.random() < 0.8:  # the rest are still in their trial
            counts["invoices"] += self.paying(tenant, plan, rng)
        counts["privacy"] += seed_privacy_requests(tenant, rng)

    def people(self, slug, rng, password) -> list[User]:
        """The owner first, then the other members, created in two bulk inserts."""
        emails = [f"owner@{slug}.test"] + [
            f"member{n}@{slug}.test" for n in range(2, 2 + rng.randint(0, 7))
        ]
        people = [
            User(email=email, name=f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}", password=password)
            for email in emails
        ]
        User.objects.bulk_create(people)
        EmailAddress.objects.bulk_create(
            EmailAddress(user=person, email=person.email, verified=True, primary=True)
            for person in people
        )
        return people

    def paying(self, tenant, plan, rng) -> int:
        """Turn the trial into a paid subscription with its past invoices; return how many."""
        now = timezone.now()
        months = rng.randint(1, 3)
        start = now - timedelta(days=30 * months + rng.randint(0, 25))
        subscription = Subscription.objects.get(tenant=tenant)
        past_due = rng.random() < 0.05
        Subscription.objects.filter(pk=subscription.pk).update(
            status=Subscription.Status.PAST_DUE if past_due else Subscription.Status.ACTIVE,
            trial_start=start - timedelta(days=14),
            trial_end=start,
            current_period_start=start + timedelta(days=30 * (months - 1)),
            current_period_end=start + timedelta(days=30 * months),
        )
        Tenant.objects.filter(pk=tenant.pk).update(
            trial_ends_at=None, payment_overdue_since=now if past_due else None
        )
        tax_code, gst_rate = tax_treatment(tenant)
        with transaction.atomic():
            # A block of numbers from the gapless series, taken under its row lock.
            InvoiceSequence.objects.get_or_create(prefix="INV")
            sequence = InvoiceSequence.objects.select_for_update().get(prefix="INV")
            first = sequence.last_value + 1
            sequence.last_value += months
            sequence.save(update_fields=["last_value"])
            invoices = []
            for month in range(months):
                issued = start + timedelta(days=30 * month)
                latest = month == months - 1
                invoices.append(
                    Invoice(
                        tenant=tenant,
                        subscription=subscription,
                        number=f"INV-{first + month:06d}",
                        status=Invoice.Status.OPEN if latest else Invoice.Status.PAID,
                        tax_code=tax_code,
                        gst_rate=gst_rate,
                        subtotal_cents=plan.amount_cents,
                        line_items=[
                            {"description": f"{plan.name} plan", "amount_cents": plan.amount_cents}
                        ],
                        issued_at=issued,
                        due_date=(issued + timedelta(days=14)).date(),
                        paid_at=None if latest else issued + timedelta(days=rng.randint(0, 10)),
                    )
                )
            Invoice.objects.bulk_create(invoices)
            # What was paid is the total, which the database computes.
            Invoice.objects.filter(tenant=tenant, status=Invoice.Status.PAID).update(
                amount_paid_cents=F("total_cents")
            )
        return months

    def forget_pool_refills(self):
        """Each provisioning queued a pool refill; the pool was filled above, so one is enough."""
        refills = [
            task.pk
            for task in OrmQ.objects.all()
            if task.func() == "tenants.schemas.fill_schema_pool"
        ]
        OrmQ.objects.filter(pk__in=refills[1:]).delete()

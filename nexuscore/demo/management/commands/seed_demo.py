"""manage.py seed_demo: the demo organisations and people of a local run. Safe to run again."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_tenants.utils import schema_context

from nexuscore.accounts.models import User
from nexuscore.billing.models import Plan
from nexuscore.demo.leads import create_demo_leads
from nexuscore.demo.privacy import create_demo_requests
from nexuscore.leads.models import Lead
from nexuscore.onboarding.provisioning import provision_tenant
from nexuscore.quotas.models import METRICS, current_period, record_usage
from tenants.management.commands.ensure_public_site import ensure_public_site
from tenants.models import Membership, Tenant
from tenants.schemas import fill_schema_pool

PASSWORD = "nexuscore-demo"

PEOPLE = [
    # email, name, is staff
    ("staff@nexuscore.test", "Siti Rahman", True),
    ("owner@acme.test", "Alice Tan", False),
    ("admin@acme.test", "Benjamin Lim", False),
    ("member@acme.test", "Chloe Ng", False),
    ("viewer@acme.test", "Daniel Koh", False),
    ("owner@globex.test", "Grace Lee", False),
]

ORGANISATIONS = [
    {
        "slug": "acme",
        "name": "Acme Trading Pte. Ltd.",
        "plan": "growth-month",
        "leads": 300,
        "owner": "owner@acme.test",
        "uen": "202301234G",
        "is_gst_registered": True,
        "gst_number": "M90364567L",
        "billing_email": "accounts@acme.test",
        "billing_address": {
            "street": "1 Raffles Place", "unit": "#20-01", "postal_code": "048616", "country": "SG",
        },
        "members": [
            ("admin@acme.test", "admin"),
            ("member@acme.test", "member"),
            ("viewer@acme.test", "viewer"),
        ],
    },
    {
        "slug": "globex",
        "name": "Globex Services",
        "plan": "starter-month",
        "leads": 60,
        "owner": "owner@globex.test",
        "uen": "53123456L",
        "is_gst_registered": False,
        "gst_number": "",
        "billing_email": "finance@globex.test",
        "billing_address": {
            "street": "8 Marina View", "unit": "#11-02", "postal_code": "018960", "country": "SG",
        },
        "members": [],
    },
]  # fmt: skip


class Command(BaseCommand):
    help = "Create the demo organisations (acme, globex) and their people. Never in production."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-leads", action="store_true", help="Leave the organisations without demo leads."
        )

    def handle(self, *args, no_leads=False, **options):
        if settings.PRODUCTION:
            raise CommandError("Demo data is never loaded in production.")
        with transaction.atomic():
            public = ensure_public_site()
            people = {email: self.person(email, name, staff) for email, name, staff in PEOPLE}
        fill_schema_pool(len(ORGANISATIONS))
        for spec in ORGANISATIONS:
            self.organisation(spec, people, with_leads=not no_leads)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(
            f"  Public site:  http://{public.domains.filter(is_primary=True).first()}:8000/"
        )
        for spec in ORGANISATIONS:
            self.stdout.write(
                f"  {spec['name']}: http://{spec['slug']}.{settings.BASE_DOMAIN}:8000/"
            )
        self.stdout.write(f"  Accounts (password {PASSWORD}):")
        for email, _, staff in PEOPLE:
            self.stdout.write(f"    {email}{'  (staff admin: /admin/)' if staff else ''}")

    def person(self, email, name, staff) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            create = User.objects.create_superuser if staff else User.objects.create_user
            user = create(email, PASSWORD, name)
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user

    def organisation(self, spec, people, with_leads):
        tenant = Tenant.objects.filter(schema_name=spec["slug"]).first()
        if tenant is None:
            details = {
                key: spec[key]
                for key in (
                    "uen",
                    "is_gst_registered",
                    "gst_number",
                    "billing_email",
                    "billing_address",
                )
            }
            tenant = provision_tenant(
                name=spec["name"],
                slug=spec["slug"],
                owner=people[spec["owner"]],
                plan=Plan.objects.get(sku=spec["plan"]),
                **details,
            )
        for email, role in spec["members"]:
            Membership.objects.get_or_create(
                tenant=tenant,
                user=people[email],
                defaults={"role": role, "invited_by": tenant.owner},
            )
        workers = [people[spec["owner"]]]
        workers += [people[email] for email, role in spec["members"] if role != "viewer"]
        if with_leads and create_demo_leads(tenant, workers, spec["leads"]):
            self.count_this_periods_leads(tenant)
        if with_leads:
            create_demo_requests(tenant)

    def count_this_periods_leads(self, tenant):
        """Demo leads are bulk-inserted; count the current period's in the usage meter."""
        start, _ = current_period(tenant, METRICS["leads.created"])
        with schema_context(tenant.schema_name):
            recent = Lead.objects.filter(created_at__gte=start).count()
        if recent:
            record_usage(tenant, "leads.created", recent, metadata={"demo": True})

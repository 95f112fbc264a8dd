"""Realistic Singapore demo leads for seed_demo: `create_demo_leads(tenant, people, count)`.

Deterministic (seeded by the organisation's slug), fast (bulk_create), and safe to call again:
an organisation that already has leads gets none added.
"""

import random
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from nexuscore.leads.models import Lead, LeadNote

GIVEN = [
    "Wei Ling", "Jun Jie", "Hui Min", "Kai Xiang", "Siti", "Nurul", "Muhammad Hafiz", "Priya",
    "Arjun", "Rajesh", "Mei Xin", "Darren", "Rachel", "Marcus", "Shu Fen", "Aisyah", "Farhan",
    "Kavitha", "Jia Hui", "Bryan", "Clara", "Benjamin", "Yi Ting", "Ravi", "Nadia", "Elaine",
]  # fmt: skip
FAMILY = [
    "Tan", "Lim", "Lee", "Ng", "Ong", "Wong", "Goh", "Chua", "Chan", "Koh", "Teo", "Ang", "Yeo",
    "Rahman", "Ismail", "Abdullah", "Kumar", "Nair", "Pillai", "Singh", "Menon", "Low", "Sim",
]  # fmt: skip
COMPANIES = [
    "Lion City Logistics", "Marina Bay Consulting", "Tiong Bahru Bakery Supplies",
    "Jurong Precision Engineering", "Orchard Retail Group", "Changi Air Services",
    "Bukit Timah Learning Centre", "Sentosa Leisure Holdings", "Raffles Digital Labs",
    "Kallang Marine Works", "Tampines Facilities Management", "Punggol Green Energy",
    "Clementi Dental Group", "Novena Medical Partners", "Bugis Creative Studio",
    "Paya Lebar Freight", "Serangoon Food Distributors", "Woodlands Cold Chain",
    "Harbourfront Events", "Queenstown Property Advisory", "Ang Mo Kio Electronics",
    "Tuas Industrial Coatings", "Katong Interior Design", "Bedok Auto Services",
]  # fmt: skip
TITLES = [
    "Operations Manager", "Managing Director", "Finance Director", "Procurement Executive",
    "Head of Sales", "Office Manager", "Founder", "IT Manager", "Marketing Executive",
    "Business Development Manager", "HR Manager", "General Manager",
]  # fmt: skip
DOMAINS = ["gmail.com", "outlook.com", "yahoo.com.sg", "singnet.com.sg"]
NOTES = [
    "Asked for a quotation for 20 seats; decision expected after the board meeting.",
    "Met at the SME Centre networking event. Interested in GST-ready invoicing.",
    "Currently using spreadsheets; wants a demo for the finance team.",
    "Budget confirmed for next quarter. Send the case study from the logistics client.",
    "Prefers WhatsApp; call after 2 pm.",
    "Comparing us with two other vendors. Price is the main concern.",
]
LOST_REASONS = ["Chose a rival", "No budget this year", "No reply after three follow-ups"]
CAMPAIGNS = [
    ("google", "cpc", "sme-crm-sg", "crm singapore"),
    ("facebook", "paid-social", "year-end-promo", ""),
    ("linkedin", "paid-social", "finance-leaders", ""),
    ("newsletter", "email", "november-update", ""),
]
SOURCES = [
    (Lead.Source.CAPTURE_FORM, 35), (Lead.Source.MANUAL, 20), (Lead.Source.REFERRAL, 15),
    (Lead.Source.EVENT, 10), (Lead.Source.IMPORT, 15), (Lead.Source.OTHER, 5),
]  # fmt: skip
STATUSES = [
    (Lead.Status.NEW, 30), (Lead.Status.CONTACTED, 25), (Lead.Status.QUALIFIED, 15),
    (Lead.Status.PROPOSAL, 10), (Lead.Status.WON, 10), (Lead.Status.LOST, 10),
]  # fmt: skip


def _pick(rng, weighted):
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


def _phone(rng) -> str:
    first = rng.choice("8899996")
    return f"+65{first}{rng.randrange(10**6, 10**7):07d}"


def create_demo_leads(tenant, people, count: int, *, add_to_existing=False) -> int:
    """Create `count` leads in the tenant's schema, assigned among `people` (users), spread
    over the last 120 days. Returns how many were created: 0 if it already had leads, unless
    `add_to_existing` (the bench adds 100,000 to the demo's)."""
    with schema_context(tenant.schema_name):
        existing = Lead.objects.count()
        if existing and not add_to_existing:
            return 0
        rng = random.Random(f"{tenant.schema_name}-{existing}")
        now = timezone.now()
        leads = []
        for index in range(count):
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            company = rng.choice(COMPANIES)
            slug = company.lower().replace(" ", "")[:18]
            email = f"{given.split()[0].lower()}.{family.lower()}{existing + index}@" + (
                f"{slug}.com.sg" if rng.random() < 0.75 else rng.choice(DOMAINS)
            )
            source = _pick(rng, SOURCES)
            status = _pick(rng, STATUSES)
            created = now - timedelta(days=rng.random() ** 1.4 * 120, minutes=rng.randrange(600))
            lead = Lead(
                name=f"{given} {family}",
                email=email,
                phone=_phone(rng) if rng.random() < 0.85 else "",
                company=company,
                job_title=rng.choice(TITLES),
                source=source,
                status=status,
                lost_reason=rng.choice(LOST_REASONS) if status == Lead.Status.LOST else "",
                assigned_to=rng.choice(people) if people and rng.random() < 0.8 else None,
                notes=rng.choice(NOTES) if rng.random() < 0.3 else "",
                converted_at=created + timedelta(days=rng.randrange(3, 30))
                if status == Lead.Status.WON
                else None,
            )
            if status not in (Lead.Status.WON, Lead.Status.LOST) and rng.random() < 0.35:
                lead.next_follow_up = (now + timedelta(days=rng.randrange(-3, 10))).replace(
                    hour=rng.choice([1, 2, 3, 6, 8]), minute=0, second=0, microsecond=0
                )
            if source == Lead.Source.CAPTURE_FORM:
                utm = rng.choice(CAMPAIGNS) if rng.random() < 0.7 else ("", "", "", "")
                lead.utm_source, lead.utm_medium, lead.utm_campaign, lead.utm_term = utm
                lead.consent_purpose = "Replying to my enquiry"
                lead.consent_text = (
                    f"I agree that {tenant.name} may keep the details I give here and contact "
                    "me about my enquiry."
                )
                lead.consent_version = "1"
                lead.consent_given_at = created
            leads.append((lead, created))
        Lead.objects.bulk_create([lead for lead, _ in leads], batch_size=500)
        # created_at is auto_now_add: spread the leads over time with one UPDATE.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE leads_lead SET created_at = spread.at, updated_at = spread.at "
                "FROM unnest(%s::uuid[], %s::timestamptz[]) AS spread(id, at) "
                "WHERE leads_lead.id = spread.id",
                [[lead.id for lead, _ in leads], [created for _, created in leads]],
            )
        notes = [
            LeadNote(lead=lead, author=lead.assigned_to, text=rng.choice(NOTES))
            for lead, _ in leads
            if lead.assigned_to and rng.random() < 0.2
        ]
        LeadNote.objects.bulk_create(notes)
        return len(leads)

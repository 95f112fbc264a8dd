"""The contact form's workflow: a visitor's enquiry becomes one of NexusCore's own sales leads.

`receive_contact_request()` is the one place that stores an enquiry: a Lead in the public schema
(whatever host asks), the audit event `lead.created`, and a task that tells the sales team by
email. `ENQUIRIES` keeps one address from sending more than a handful of enquiries in a few
minutes (nexuscore/lib/ratelimit.py).
"""

from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from nexuscore.audit.models import record_event
from nexuscore.leads.models import Lead
from nexuscore.lib.ratelimit import RateLimit
from nexuscore.marketing.forms import CONSENT_PURPOSE, CONSENT_TEXT, CONSENT_VERSION
from tenants.tasks import enqueue_in_schema

# Enquiries one address may send in ten minutes, counted across every host.
ENQUIRIES = RateLimit("contact-enquiry", limit=5, window=10 * 60)


def already_received(submission_key: str) -> bool:
    """Whether the form with this submission key has already become a lead."""
    with schema_context(get_public_schema_name()):
        return Lead.objects.filter(submission_key=submission_key).exists()


def receive_contact_request(cleaned_data: dict, *, actor=None) -> tuple[Lead, bool]:
    """Store a contact form's enquiry as a sales lead; returns (lead, created).

    The lead goes into the public schema, where staff work NexusCore's own leads. A submission
    key that is already stored means the same form arrived twice: the first lead is returned and
    nothing else happens. Otherwise `lead.created` is recorded (without personal data: audit
    events cannot be erased, leads can) and the sales team is told by a background task.
    """
    data = cleaned_data
    with schema_context(get_public_schema_name()):
        existing = Lead.objects.filter(submission_key=data["submission_key"]).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                lead = Lead.objects.create(
                    name=data["name"],
                    email=data["email"],
                    company=data["company"],
                    phone=data["phone"],
                    notes=data["message"],
                    source=Lead.Source.CONTACT_FORM,
                    utm_source=data["utm_source"],
                    utm_medium=data["utm_medium"],
                    utm_campaign=data["utm_campaign"],
                    utm_term=data["utm_term"],
                    utm_content=data["utm_content"],
                    form_data={"referrer": data["referrer"], "page": data["page"]},
                    consent_purpose=CONSENT_PURPOSE,
                    consent_text=CONSENT_TEXT,
                    consent_version=CONSENT_VERSION,
                    consent_given_at=timezone.now(),
                    submission_key=data["submission_key"],
                )
                record_event(
                    "lead.created",
                    actor=actor,
                    data={
                        "lead": str(lead.pk),
                        "source": lead.source,
                        "utm_source": lead.utm_source,
                        "utm_campaign": lead.utm_campaign,
                    },
                )
        except IntegrityError:
            # The same form, sent twice at the same moment: the other request stored it.
            return Lead.objects.get(submission_key=data["submission_key"]), False
    enqueue_in_schema(
        get_public_schema_name(), "nexuscore.marketing.contact.notify_sales_team", str(lead.pk)
    )
    return lead, True


def sales_team_address() -> str:
    """Where enquiries are sent: NEXUSCORE_SALES_EMAIL, else the address mail is sent from."""
    return settings.NEXUSCORE_SALES_EMAIL or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def notify_sales_team(lead_id: str) -> None:
    """Task (public schema): email the sales team about a new enquiry, Reply-To the visitor.

    Run twice, it sends the sales inbox a second copy, which does no harm.
    """
    lead = Lead.objects.filter(pk=lead_id).first()
    if lead is None:  # deleted (say, on a PDPA request) before the task ran
        return
    admin_path = reverse(
        "admin:leads_lead_change", args=[lead.pk], urlconf=settings.PUBLIC_SCHEMA_URLCONF
    )
    lines = [
        f"{lead.name} of {lead.company} sent an enquiry through the contact form.",
        "",
        f"Email: {lead.email}",
        f"Phone: {lead.phone or '(not given)'}",
        "",
        lead.notes,
        "",
    ]
    campaign = ", ".join(
        f"{label} {value}"
        for label, value in (
            ("source", lead.utm_source),
            ("medium", lead.utm_medium),
            ("campaign", lead.utm_campaign),
        )
        if value
    )
    if campaign:
        lines.append(f"Campaign: {campaign}")
    lines.append(f"Open the lead in the staff admin: {settings.SITE_URL}{admin_path}")
    EmailMessage(
        subject=f"New enquiry from {lead.name} ({lead.company})",
        body="\n".join(lines),
        to=[sales_team_address()],
        reply_to=[lead.email],
    ).send()

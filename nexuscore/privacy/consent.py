"""Withdrawing consent: the signed link in every email to a lead, and what withdrawing does.

The link names an email address and a schema, signed with the secret key (no expiry: a person
may withdraw years later). Following it asks for one click; the answer is the same whether or
not the address is known, so the link reveals nothing to someone who makes one up (they cannot:
it is signed) or forwards it.

Withdrawing marks the consent of every lead with that address in the schema as withdrawn (the
consent record itself is kept: purpose, wording, version and time given) and clears their next
follow-up, so no one is prompted to contact them again. `email_lead()` is how any email to a lead
is sent: it refuses once consent is withdrawn and adds the withdrawal link.
"""

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from nexuscore.audit.models import record_event
from tenants.hosts import organisation_url

WITHDRAW_SALT = "nexuscore.privacy.withdraw"


def withdrawal_token(email: str, schema_name: str | None = None) -> str:
    schema_name = schema_name or connection.schema_name
    return signing.dumps({"e": email.strip().lower(), "s": schema_name}, salt=WITHDRAW_SALT)


def read_withdrawal_token(token: str) -> str | None:
    """The email address the token was made for on this host's schema; None otherwise."""
    try:
        value = signing.loads(token, salt=WITHDRAW_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or value.get("s") != connection.schema_name:
        return None
    return value.get("e") or None


def withdrawal_link(email: str, schema_name: str | None = None) -> str:
    schema_name = schema_name or connection.schema_name
    token = withdrawal_token(email, schema_name)
    path = reverse("privacy:withdraw", args=[token], urlconf=settings.ROOT_URLCONF)
    return organisation_url(schema_name, path)


def withdraw_consent(email: str, *, actor=None, via: str) -> int:
    """Mark consent withdrawn on every lead with this address in the active schema and stop
    their follow-ups; returns how many leads changed. One event per lead (its timeline) and one
    summary event, none with the address in it."""
    from nexuscore.privacy.erasure import leads_of

    now = timezone.now()
    with transaction.atomic():
        leads = leads_of(email).filter(consent_withdrawn_at__isnull=True)
        ids = [str(pk) for pk in leads.values_list("pk", flat=True)]
        leads.model.objects.filter(pk__in=ids).update(
            consent_withdrawn_at=now, next_follow_up=None, updated_at=now
        )
        for pk in ids:
            record_event("lead.consent_withdrawn", actor=actor, data={"lead": pk, "via": via})
        if ids:
            record_event(
                "privacy.consent_withdrawn", actor=actor, data={"leads": len(ids), "via": via}
            )
    return len(ids)


def email_footer(email: str, schema_name: str | None = None) -> str:
    return (
        "\n\n--\nTo stop us using your details, withdraw your consent here:\n"
        f"{withdrawal_link(email, schema_name)}\n"
    )


def email_lead(lead, *, subject: str, body: str) -> bool:
    """Email a lead (in the active schema), with the withdrawal link; False, sending nothing,
    when the lead has withdrawn consent, was anonymised or has no address."""
    if not lead.email or lead.consent_withdrawn_at or lead.anonymised_at:
        return False
    send_mail(
        subject=subject,
        message=body + email_footer(lead.email),
        from_email=None,
        recipient_list=[lead.email],
    )
    record_event("lead.email_sent", data={"lead": str(lead.pk), "kind": "to_lead"})
    return True

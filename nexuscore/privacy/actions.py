"""Every change to a privacy request goes through one of these functions, which records it.

Each works in the active schema (an organisation's, or public for NexusCore's own requests),
records a `privacy.<what>` audit event with the request's id and never the person's address
(events outlive deletions), and tells whoever needs to know by email:

    file_request        a person asks; the confirmation link goes to the address given
    confirm_request     the person follows the link: the deadline starts; an access request's
                        export starts, a withdrawal of consent is carried out at once, the
                        organisation's owners and admins (NexusCore's privacy contact on the
                        public site) are told
    start_export        (again, after a failure) queue the access export
    export_ready / export_failed   the export task's two endings
    approve_deletion    first step of a deletion: an owner or admin approves it
    carry_out_deletion  second step: the person's data in this schema is anonymised, by
                        another owner or admin unless the approver is the only one
    apply_correction    the correction the person asked for, in one click
    reject_request      declined, with the reason the person is told
"""

from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from nexuscore.accounts.models import User
from nexuscore.audit.models import record_event
from nexuscore.leads.actions import update_lead
from nexuscore.leads.forms import normalise_phone
from nexuscore.privacy.consent import email_footer, withdraw_consent
from nexuscore.privacy.erasure import anonymise_leads, leads_of
from nexuscore.privacy.models import DEADLINE_DAYS, EXPORT_DAYS, DSARRequest
from tenants.models import Membership, Tenant
from tenants.tasks import enqueue_in_schema

EXPORT_SALT = "nexuscore.privacy.export"


class NotAllowedNow(Exception):
    """The request is not in a state that allows this step; the message says why."""


def current_organisation():
    """The Tenant of the active schema (the public one for NexusCore itself)."""
    return Tenant.objects.get(schema_name=connection.schema_name)


def organisation_name(tenant) -> str:
    return "NexusCore" if tenant.is_public else tenant.name


def privacy_contact_address() -> str:
    """Who answers NexusCore's own requests: NEXUSCORE_SALES_EMAIL, else the sender address."""
    return settings.NEXUSCORE_SALES_EMAIL or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def privacy_team(tenant):
    """The people who work the organisation's privacy requests (a User queryset): those whose
    role has `privacy.manage` (owners and admins); for NexusCore itself, its active staff."""
    if tenant.is_public:
        return User.objects.active_staff()
    roles = [
        role
        for role, permissions in Membership.ROLE_PERMISSIONS.items()
        if "privacy.manage" in permissions
    ]
    return User.objects.filter(
        is_active=True, memberships__tenant=tenant, memberships__role__in=roles
    )


def team_words(tenant) -> tuple[str, str]:
    """What the people of `privacy_team(tenant)` are called: one of them, and all of them."""
    if tenant.is_public:
        return "member of staff", "staff"
    return "owner or admin", "owners and admins"


def team_addresses(tenant) -> list[str]:
    """Who is told about requests: the privacy team (NexusCore's privacy contact for public)."""
    if tenant.is_public:
        return [privacy_contact_address()]
    return sorted(privacy_team(tenant).values_list("email", flat=True))


def _event(kind: str, request: DSARRequest, actor=None, **data) -> None:
    record_event(
        f"privacy.{kind}",
        actor=actor,
        data={"request": str(request.pk), "type": request.request_type, **data},
    )


def _tell_person(request: DSARRequest, subject: str, template: str, **context) -> None:
    """Email the person who made the request, with the consent withdrawal link."""
    tenant = context.setdefault("tenant", current_organisation())
    context.update(
        request=request,
        organisation=organisation_name(tenant),
        footer=email_footer(request.email, tenant.schema_name),
    )
    send_mail(
        subject=subject,
        message=render_to_string(template, context),
        from_email=None,
        recipient_list=[request.email],
    )


def file_request(*, email: str, request_type: str, details: str = "", correction=None):
    """A person's new request; the confirmation link goes to `email`. Returns (request,
    token). The same happens whether or not anything is held about the address."""
    request = DSARRequest(email=email, request_type=request_type, details=details)
    if correction:
        request.metadata = {"correction": correction}
    token = request.new_token()
    request.save(force_insert=True)
    tenant = current_organisation()
    link = tenant.url_for("privacy:request_status", token)
    _tell_person(
        request,
        f"Confirm your privacy request to {organisation_name(tenant)}",
        "emails/privacy_verify.txt",
        tenant=tenant,
        link=link,
    )
    return request, token


def confirm_request(request: DSARRequest, now=None) -> bool:
    """The person followed the link: start the clock and act on the request. False (nothing
    done) when it was confirmed before or the link has expired."""
    now = now or timezone.now()
    if request.status != DSARRequest.Status.UNVERIFIED or request.link_has_expired(now):
        return False
    with transaction.atomic():
        changed = DSARRequest.objects.filter(
            pk=request.pk, status=DSARRequest.Status.UNVERIFIED
        ).update(
            status=DSARRequest.Status.OPEN,
            verified_at=now,
            due_at=now + timedelta(days=DEADLINE_DAYS),
            user=User.objects.filter(email__iexact=request.email).first(),
        )
        if not changed:  # confirmed a moment ago in another request
            return False
        request.refresh_from_db()
        _event("request_confirmed", request)
    tenant = current_organisation()
    if request.request_type == DSARRequest.Type.ACCESS:
        start_export(request)
    elif request.request_type == DSARRequest.Type.WITHDRAW_CONSENT:
        _withdraw(request, tenant)
    request.refresh_from_db()
    subject = f"Privacy request: {request.get_request_type_display().split(':')[0].lower()}"
    send_mail(
        subject=f"{subject}, due {timezone.localtime(request.due_at):%d %b %Y}",
        message=render_to_string(
            "emails/privacy_new_request.txt",
            {
                "request": request,
                "organisation": organisation_name(tenant),
                "link": _inbox_link(tenant, request),
            },
        ),
        from_email=None,
        recipient_list=team_addresses(tenant),
    )
    return True


def _inbox_link(tenant, request: DSARRequest) -> str:
    if tenant.is_public:
        return f"{settings.SITE_URL}/admin/privacy/dsarrequest/{request.pk}/change/"
    return tenant.absolute_url(request.get_absolute_url())


def _withdraw(request: DSARRequest, tenant) -> None:
    count = withdraw_consent(request.email, via="request")
    _complete(request, metadata={"withdrawn": count})
    _tell_person(
        request,
        f"Your consent is withdrawn at {organisation_name(tenant)}",
        "emails/privacy_done.txt",
        tenant=tenant,
        outcome="withdrawn",
    )


def _complete(request: DSARRequest, *, actor=None, metadata=None) -> None:
    request.status = DSARRequest.Status.COMPLETED
    request.processed_at = timezone.now()
    request.metadata = {**request.metadata, **(metadata or {})}
    request.save(update_fields=["status", "processed_at", "metadata"])
    _event("request_completed", request, actor=actor)


def start_export(request: DSARRequest, *, actor=None) -> None:
    """Queue the access export (first time, or again after it failed)."""
    allowed = (DSARRequest.Status.OPEN, DSARRequest.Status.FAILED)
    if request.request_type != DSARRequest.Type.ACCESS or request.status not in allowed:
        raise NotAllowedNow("Only a confirmed access request that is not being exported can be.")
    with transaction.atomic():
        request.status = DSARRequest.Status.PROCESSING
        request.progress = 0
        request.failure_reason = ""
        request.processing_started_at = timezone.now()
        request.save(
            update_fields=["status", "progress", "failure_reason", "processing_started_at"]
        )
        _event("export_started", request, actor=actor)
    enqueue_in_schema(
        connection.schema_name, "nexuscore.privacy.export.build_export", str(request.pk)
    )


def export_failed(request: DSARRequest, reason: str) -> None:
    request.status = DSARRequest.Status.FAILED
    request.failure_reason = reason
    request.save(update_fields=["status", "failure_reason"])
    _event("export_failed", request)


def download_token(request: DSARRequest) -> str:
    return signing.dumps({"r": str(request.pk), "s": connection.schema_name}, salt=EXPORT_SALT)


def read_download_token(token: str) -> str | None:
    """The request id a download link names, if it is genuine, at most EXPORT_DAYS old and
    made for this host's schema."""
    try:
        value = signing.loads(token, salt=EXPORT_SALT, max_age=timedelta(days=EXPORT_DAYS))
    except signing.BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(value, dict) or value.get("s") != connection.schema_name:
        return None
    return value.get("r")


def export_ready(request: DSARRequest, tenant, *, counts: dict) -> None:
    """The export is stored: open the download for EXPORT_DAYS and send the person the link."""
    now = timezone.now()
    request.progress = 100
    request.export_expires_at = now + timedelta(days=EXPORT_DAYS)
    request.metadata = {**request.metadata, "exported": counts}
    request.save(update_fields=["progress", "export_file", "export_expires_at", "metadata"])
    _complete(request)
    link = tenant.url_for("privacy:download", download_token(request))
    _tell_person(
        request,
        f"Your data from {organisation_name(tenant)} is ready to download",
        "emails/privacy_export_ready.txt",
        tenant=tenant,
        link=link,
        expires=request.export_expires_at,
    )


def approve_deletion(request: DSARRequest, *, actor) -> None:
    """Step one of a deletion: an owner or admin approves it. Nothing is changed yet."""
    if request.request_type != DSARRequest.Type.DELETION:
        raise NotAllowedNow("Only deletion requests are approved.")
    if request.status != DSARRequest.Status.OPEN:
        raise NotAllowedNow("This request is not waiting for approval.")
    tenant = current_organisation()
    if not privacy_team(tenant).filter(pk=actor.pk).exists():
        raise NotAllowedNow(f"Only {team_words(tenant)[1]} can approve a deletion.")
    with transaction.atomic():
        request.status = DSARRequest.Status.APPROVED
        request.deletion_approved_by = actor
        request.deletion_approved_at = timezone.now()
        request.save(update_fields=["status", "deletion_approved_by", "deletion_approved_at"])
        _event("deletion_approved", request, actor=actor)


def deletion_preview(request: DSARRequest) -> dict:
    """What carrying out the deletion would change, for the confirmation page."""
    from nexuscore.leads.models import LeadNote

    ids = list(leads_of(request.email).values_list("pk", flat=True))
    return {"leads": len(ids), "notes": LeadNote.objects.filter(lead_id__in=ids).count()}


def who_may_carry_out(request: DSARRequest) -> list:
    """Who may take step two of this approved deletion: a second person, anyone in the privacy
    team but the approver; the approver only when nobody else is in it (then one person
    decides alone, and the audit log says so)."""
    team = privacy_team(current_organisation()).order_by("name", "email")
    others = list(team.exclude(pk=request.deletion_approved_by_id))
    return others or list(team)


def carry_out_deletion(request: DSARRequest, *, actor) -> dict:
    """Step two: anonymise the person's leads, notes and event text in this schema, delete
    earlier export files, and tell the person what was removed and what the law keeps.

    Taken by someone other than the approver whenever the privacy team has someone else
    (`who_may_carry_out`): nobody erases a person's data on their own say-so alone."""
    if request.status != DSARRequest.Status.APPROVED:
        raise NotAllowedNow("A deletion is carried out only once it has been approved.")
    tenant = current_organisation()
    one, everyone = team_words(tenant)
    if actor not in who_may_carry_out(request):
        if actor.pk == request.deletion_approved_by_id:
            raise NotAllowedNow(
                f"You approved this deletion, so another {one} must check it and carry it out."
            )
        raise NotAllowedNow(f"Only {everyone} can carry out a deletion.")
    approver = {"approved_by": str(request.deletion_approved_by_id or "")}
    if actor.pk == request.deletion_approved_by_id:
        approver["same_person"] = True  # allowed: nobody else could take the second step
    with transaction.atomic():
        # Two people confirming at the same moment: the second waits here, then finds it done.
        current = DSARRequest.objects.select_for_update().only("status").get(pk=request.pk)
        if current.status != DSARRequest.Status.APPROVED:
            raise NotAllowedNow("This deletion has already been carried out.")
        counts = anonymise_leads(leads_of(request.email), emails=[request.email])
        earlier = DSARRequest.objects.filter(email__iexact=request.email).exclude(export_file="")
        for other in earlier:
            other.export_file.delete(save=False)
            other.export_expires_at = None
            other.save(update_fields=["export_file", "export_expires_at"])
        _complete(request, actor=actor, metadata={"deleted": counts})
        _event("deletion_completed", request, actor=actor, **approver, **counts)
    _tell_person(
        request,
        f"Your data at {organisation_name(tenant)} has been deleted",
        "emails/privacy_done.txt",
        tenant=tenant,
        outcome="deleted",
        counts=counts,
    )
    return counts


def apply_correction(request: DSARRequest, *, actor) -> int:
    """Apply the correction the person asked for to each of their leads; returns how many."""
    correction = request.correction
    field, value = correction.get("field"), (correction.get("value") or "").strip()
    if request.request_type != DSARRequest.Type.CORRECTION or field not in (
        DSARRequest.CORRECTABLE_FIELDS
    ):
        raise NotAllowedNow("This request has no correction to apply.")
    if request.status != DSARRequest.Status.OPEN:
        raise NotAllowedNow("This request is not waiting for a correction.")
    if field == "phone":
        try:
            value = normalise_phone(value)
        except ValidationError as error:
            raise NotAllowedNow(
                f"The new phone number cannot be used: {error.messages[0]}"
            ) from error
    tenant = current_organisation()
    with transaction.atomic():
        leads = list(leads_of(request.email).filter(anonymised_at__isnull=True))
        for lead in leads:
            before = {field: getattr(lead, field)}
            setattr(lead, field, value)
            update_lead(lead, actor=actor, before=before)
        _complete(request, actor=actor, metadata={"corrected": len(leads)})
    _tell_person(
        request,
        f"Your details at {organisation_name(tenant)} have been corrected",
        "emails/privacy_done.txt",
        tenant=tenant,
        outcome="corrected",
    )
    return len(leads)


def reject_request(request: DSARRequest, *, actor, reason: str) -> None:
    """Decline an open request; the person is told why."""
    if not request.is_open or request.status == DSARRequest.Status.PROCESSING:
        raise NotAllowedNow("Only a request waiting for the organisation can be declined.")
    tenant = current_organisation()
    with transaction.atomic():
        request.status = DSARRequest.Status.REJECTED
        request.processed_at = timezone.now()
        request.metadata = {**request.metadata, "reason": reason}
        request.save(update_fields=["status", "processed_at", "metadata"])
        _event("request_declined", request, actor=actor)
    _tell_person(
        request,
        f"Your privacy request to {organisation_name(tenant)}",
        "emails/privacy_done.txt",
        tenant=tenant,
        outcome="declined",
        reason=reason,
    )

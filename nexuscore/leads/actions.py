"""Every change to a lead goes through one of these functions, which also records it.

Each writes the lead and an audit event (`lead.<what>`, with `data["lead"]` the lead's id, which
the lead's timeline reads) in the active schema. Creating a lead also counts it against the
plan (`leads.created`); under a HARD limit QuotaExceeded is raised and nothing is saved.
"""

from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from nexuscore.audit.models import record_event
from nexuscore.leads.models import Lead, LeadNote
from nexuscore.quotas.models import record_usage


def create_lead(tenant, *, actor=None, **fields) -> Lead:
    """Save a new lead, count it against the plan and record `lead.created`."""
    with transaction.atomic():
        lead = Lead(**fields)
        lead.save(force_insert=True)
        record_usage(
            tenant, "leads.created", metadata={"lead": str(lead.id), "source": lead.source}
        )
        record_event(
            "lead.created",
            actor=actor,
            data={"lead": str(lead.id), "name": lead.name, "source": lead.source},
        )
    return lead


def update_lead(lead: Lead, *, actor, before: dict) -> None:
    """Save an edited lead (`before`: its fields' values as the form found them). A new status,
    assignee or follow-up is recorded as the action of its own records it (lead.status_changed,
    lead.assigned, lead.follow_up_set), wherever it was changed; the other fields by name in
    lead.updated (not their values: the audit log outlives a deleted lead and must not keep
    personal data)."""
    changed = [name for name, value in before.items() if getattr(lead, name) != value]
    if lead.status == Lead.Status.WON and lead.converted_at is None:
        lead.converted_at = timezone.now()
    with transaction.atomic():
        lead.save()
        if "status" in changed or (lead.status == Lead.Status.LOST and "lost_reason" in changed):
            _record_status_change(lead, before["status"], actor)
        if "assigned_to" in changed:
            _record_assignment(lead, actor)
        if "next_follow_up" in changed:
            _record_follow_up(lead, actor)
        others = [name for name in changed if name not in STATE_FIELDS]
        if others:
            record_event("lead.updated", actor=actor, data={"lead": str(lead.id), "fields": others})


# Fields whose changes have events of their own.
STATE_FIELDS = {"status", "lost_reason", "assigned_to", "next_follow_up"}


def _record_status_change(lead: Lead, previous: str, actor) -> None:
    data = {"lead": str(lead.id), "from": previous, "to": lead.status}
    if lead.lost_reason:
        data["reason"] = lead.lost_reason
    record_event("lead.status_changed", actor=actor, data=data)


def _record_assignment(lead: Lead, actor) -> None:
    assignee = lead.assigned_to
    data = {
        "lead": str(lead.id),
        "to": str(assignee.pk) if assignee else None,
        "to_name": (assignee.name or assignee.email) if assignee else "",
    }
    record_event("lead.assigned", actor=actor, data=data)


def _record_follow_up(lead: Lead, actor) -> None:
    when = lead.next_follow_up
    data = {"lead": str(lead.id), "at": when.isoformat() if when else None}
    record_event("lead.follow_up_set", actor=actor, data=data)


def change_status(lead: Lead, status: str, *, actor, lost_reason: str = "") -> bool:
    """Move the lead to `status`; False if it was already there (nothing recorded)."""
    if status == lead.status and (status != Lead.Status.LOST or lost_reason == lead.lost_reason):
        return False
    previous = lead.status
    lead.status = status
    lead.lost_reason = lost_reason.strip() if status == Lead.Status.LOST else ""
    fields = ["status", "lost_reason", "updated_at"]
    if status == Lead.Status.WON and lead.converted_at is None:
        lead.converted_at = timezone.now()
        fields.append("converted_at")
    with transaction.atomic():
        lead.save(update_fields=fields)
        _record_status_change(lead, previous, actor)
    return True


def assign_lead(lead: Lead, assignee, *, actor) -> bool:
    """Give the lead to `assignee` (None: nobody); False if nothing changed."""
    new_id = assignee.pk if assignee else None
    if lead.assigned_to_id == new_id:
        return False
    lead.assigned_to = assignee
    with transaction.atomic():
        lead.save(update_fields=["assigned_to", "updated_at"])
        _record_assignment(lead, actor)
    return True


def add_note(lead: Lead, text: str, *, actor) -> LeadNote:
    with transaction.atomic():
        note = LeadNote.objects.create(lead=lead, author=actor, text=text)
        record_event(
            "lead.note_added", actor=actor, data={"lead": str(lead.id), "note": str(note.id)}
        )
    return note


def set_follow_up(lead: Lead, when, *, actor) -> None:
    lead.next_follow_up = when
    with transaction.atomic():
        lead.save(update_fields=["next_follow_up", "updated_at"])
        _record_follow_up(lead, actor)


def convert_lead(lead: Lead, *, actor) -> bool:
    """Mark the lead as converted to a customer (status Won); False if it already was."""
    if lead.converted_at is not None:
        return False
    with transaction.atomic():
        lead.converted_at = timezone.now()
        previous = lead.status
        lead.status = Lead.Status.WON
        lead.lost_reason = ""
        lead.save(update_fields=["converted_at", "status", "lost_reason", "updated_at"])
        record_event("lead.converted", actor=actor, data={"lead": str(lead.id), "from": previous})
    return True


def delete_leads(leads, *, actor) -> int:
    """Delete the given leads (a queryset); one audit event each, without personal data."""
    with transaction.atomic():
        ids = [str(pk) for pk in leads.values_list("pk", flat=True)]
        leads.model.objects.filter(pk__in=ids).delete()
        for pk in ids:
            record_event("lead.deleted", actor=actor, data={"lead": pk})
    return len(ids)


def notify_new_lead(tenant, lead: Lead, recipient) -> None:
    """Tell the person who should work the lead that it has arrived (called after commit)."""
    if recipient is None or not recipient.email:
        return
    context = {
        "tenant": tenant,
        "lead": lead,
        "recipient": recipient,
        "lead_url": tenant.absolute_url(lead.get_absolute_url()),
    }
    send_mail(
        subject=f"New lead from your website: {lead.name}",
        message=render_to_string("emails/lead_captured.txt", context),
        from_email=None,
        recipient_list=[recipient.email],
        html_message=render_to_string("emails/lead_captured.html", context),
    )
    record_event(
        "lead.email_sent",
        data={"lead": str(lead.id), "kind": "new_lead", "to": recipient.email},
    )

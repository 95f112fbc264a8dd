"""Fixtures and helpers for the privacy tests: two people with similar addresses (ann@x.sg and
joann@x.sg) known to acme, a request filed through the form and its emailed link."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context

from nexuscore.audit.models import record_event
from nexuscore.leads import actions as lead_actions
from nexuscore.leads.models import Lead
from nexuscore.privacy.models import DSARRequest

ANN = "ann@x.sg"
JOANN = "joann@x.sg"


@pytest.fixture
def privacy_media(settings, tmp_path):
    """Export archives go to a temporary media folder, not the developer's."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def make_person(tenant, email, name, *, actor=None, note=None, **fields) -> Lead:
    """A lead in the tenant's schema made the way the app makes one, with a note and an event
    that mentions the address."""
    schema = "public" if tenant is None else tenant.schema_name
    with schema_context(schema):
        if tenant is None:
            lead = Lead.objects.create(name=name, email=email, source="contact_form", **fields)
            record_event("lead.created", data={"lead": str(lead.pk), "name": name})
        else:
            lead = lead_actions.create_lead(
                tenant, actor=actor, name=name, email=email, source="capture_form", **fields
            )
        if note:
            lead_actions.add_note(lead, note, actor=actor)
        record_event("lead.email_sent", data={"lead": str(lead.pk), "kind": "test", "to": email})
    return lead


@pytest.fixture
def ann_and_joann(acme, owner):
    ann = make_person(
        acme,
        ANN,
        "Ann Tan",
        actor=owner,
        note="Ann prefers calls after 6pm",
        phone="+6591234567",
        company="Ann's Bakery",
        form_data={"message": "I am Ann, call me"},
        consent_purpose="Replying to my enquiry",
        consent_text="I agree",
        consent_version="1",
    )
    joann = make_person(
        acme,
        JOANN,
        "Joann Lim",
        actor=owner,
        note="Joann wants a quote",
        phone="+6598765432",
        company="Joann Florist",
    )
    return ann, joann


def host_client(tenant=None):
    from tests.conftest import client_for  # conftest imports this module

    return client_for(tenant)


def link_in(message, path_start: str) -> str:
    """The path of the first link in the email that starts with `path_start`."""
    match = re.search(rf"https?://[^/\s]+({re.escape(path_start)}[^\s]+)", message.body)
    assert match, f"no {path_start} link in:\n{message.body}"
    return match.group(1)


def file_request(tenant, email, request_type, **extra):
    """Post the form on the tenant's host (public for None); returns the response."""
    data = {"email": email, "request_type": request_type, **extra}
    return host_client(tenant).post("/privacy/request/", data)


def file_and_confirm(tenant, email, request_type, **extra) -> str:
    """File a request and confirm it through the emailed link; returns the status path."""
    before = len(mail.outbox)
    response = file_request(tenant, email, request_type, **extra)
    assert response.status_code == 302, response.content.decode()[:2000]
    (verification,) = [m for m in mail.outbox[before:] if m.to == [email]]
    path = link_in(verification, "/privacy/request/")
    confirmed = host_client(tenant).post(path)
    assert confirmed.status_code == 302
    return path


def make_request(schema, email="ann@x.sg", request_type="deletion", status="open", days=30):
    now = timezone.now()
    with schema_context(schema):
        dsar = DSARRequest(email=email, request_type=request_type, status=status)
        dsar.new_token()
        if status != "unverified":
            dsar.verified_at = now - timedelta(days=30 - days)
            dsar.due_at = now + timedelta(days=days)
        if request_type == "correction":
            dsar.metadata = {"correction": {"field": "name", "value": "Ann Tan"}}
        dsar.save()
    return dsar

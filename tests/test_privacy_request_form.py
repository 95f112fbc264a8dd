"""The privacy request form and the pages reached by emailed links, for anyone on both hosts:
the same answer for known and unknown addresses, the rate limit, garbage input, the
confirmation link's expiry and reuse, the download link's expiry."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from django_tenants.utils import schema_context

from nexuscore.privacy.models import DSARRequest
from tests.conftest import client_for
from tests.fixtures_privacy import ANN, file_and_confirm, file_request, link_in

pytestmark = pytest.mark.usefixtures("privacy_media")


@pytest.fixture(autouse=True)
def _fresh_rate_limits(db):
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize("tenant_name", ["acme", None])
def test_form_page(tenant_name, request):
    tenant = request.getfixturevalue(tenant_name) if tenant_name else None
    response = client_for(tenant).get("/privacy/request/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ask about your personal data" in page
    assert ("Acme Trading" if tenant else "NexusCore") in page
    assert 'name="website"' in page  # the honeypot


def test_the_answer_is_the_same_for_known_and_unknown_addresses(acme, ann_and_joann):
    known = file_request(acme, ANN, "access")
    unknown = file_request(acme, "stranger@x.sg", "access")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/privacy/request/sent/"
    sent = client_for(acme).get("/privacy/request/sent/")
    assert b"Check your email" in sent.content
    # Both get the same kind of email, which says nothing about what is held.
    to_known = next(m for m in mail.outbox if m.to == [ANN])
    to_unknown = next(m for m in mail.outbox if m.to == ["stranger@x.sg"])
    assert to_known.subject == to_unknown.subject
    assert (
        to_known.body.split("/privacy/request/")[0] == to_unknown.body.split("/privacy/request/")[0]
    )


def test_the_confirmation_link_expires(acme, ann_and_joann):
    file_request(acme, ANN, "access")
    path = link_in(mail.outbox[-1], "/privacy/request/")
    with schema_context("acme"):
        DSARRequest.objects.update(requested_at=timezone.now() - timedelta(hours=49))
    page = client_for(acme).get(path)
    assert page.status_code == 410
    assert client_for(acme).post(path).status_code == 410
    with schema_context("acme"):
        assert DSARRequest.objects.get().status == DSARRequest.Status.UNVERIFIED


def test_the_confirmation_link_asks_before_confirming(acme):
    file_request(acme, ANN, "deletion")
    path = link_in(mail.outbox[-1], "/privacy/request/")
    page = client_for(acme).get(path)  # a mail system's link checker, say
    assert b"Confirm my request" in page.content
    with schema_context("acme"):
        assert DSARRequest.objects.get().status == DSARRequest.Status.UNVERIFIED


def test_using_the_link_again_changes_nothing(acme, owner, ann_and_joann):
    path = file_and_confirm(acme, ANN, "access")
    with schema_context("acme"):
        first = DSARRequest.objects.get()
    sent = len(mail.outbox)
    again = client_for(acme).post(path)
    assert again.status_code == 302
    with schema_context("acme"):
        second = DSARRequest.objects.get()
    assert (second.verified_at, second.due_at, second.status) == (
        first.verified_at,
        first.due_at,
        first.status,
    )
    assert len(mail.outbox) == sent  # no second export, no second email to the team
    status = client_for(acme).get(path)
    assert status.status_code == 200 and b"Done" in status.content


def test_a_wrong_token_is_not_found(acme):
    assert client_for(acme).get("/privacy/request/not-a-token/").status_code == 404
    assert client_for(acme).post("/privacy/request/not-a-token/").status_code == 404


def test_a_link_for_one_organisation_finds_nothing_on_another(acme, globex, ann_and_joann):
    path = file_and_confirm(acme, ANN, "access")
    ready = next(m for m in mail.outbox if "ready" in m.subject)
    download = link_in(ready, "/privacy/download/")
    assert client_for(globex).get(path).status_code == 404
    assert client_for(globex).get(download).status_code == 404
    assert client_for(None).get(download).status_code == 404


def test_the_download_link_expires(acme, ann_and_joann):
    file_and_confirm(acme, ANN, "access")
    ready = next(m for m in mail.outbox if "ready" in m.subject)
    download = link_in(ready, "/privacy/download/")
    assert client_for(acme).get(download).status_code == 200
    with schema_context("acme"):
        DSARRequest.objects.update(export_expires_at=timezone.now() - timedelta(minutes=1))
    assert client_for(acme).get(download).status_code == 410
    assert client_for(acme).get("/privacy/download/forged/").status_code == 404


def test_the_form_is_rate_limited(acme):
    for n in range(5):
        assert file_request(acme, f"person{n}@x.sg", "access").status_code == 302
    refused = file_request(acme, "person9@x.sg", "access")
    assert refused.status_code == 429
    assert b"try again in ten" in refused.content
    with schema_context("acme"):
        assert DSARRequest.objects.count() == 5


def test_one_address_cannot_be_flooded_with_emails(acme):
    def post(n):
        data = {"email": ANN, "request_type": "access"}
        return client_for(acme).post("/privacy/request/", data, REMOTE_ADDR=f"10.0.0.{n}")

    assert [post(n).status_code for n in range(5)] == [302] * 5
    assert post(9).status_code == 429  # from yet another address
    assert len(mail.outbox) == 5


def test_the_honeypot_keeps_nothing(acme):
    response = file_request(acme, ANN, "access", website="http://spam")
    assert response.status_code == 302
    with schema_context("acme"):
        assert not DSARRequest.objects.exists()
    assert not mail.outbox


GARBAGE = [
    ({}, ["email", "request_type"]),
    ({"email": "not an email", "request_type": "access"}, ["email"]),
    ({"email": "a@" + "x" * 300 + ".sg", "request_type": "access"}, ["email"]),
    ({"email": "ann@x.sg", "request_type": "everything"}, ["request_type"]),
    ({"email": "ann\x00@x.sg", "request_type": "access"}, ["email"]),
    ({"email": "ann@x.sg", "request_type": "access", "details": "x" * 3000}, ["details"]),
    ({"email": "ann@x.sg", "request_type": "access", "details": "hi\u202eyou"}, ["details"]),
    (
        {"email": "ann@x.sg", "request_type": "correction", "correction_field": "password"},
        ["correction_field", "correction_value"],
    ),
    (
        {
            "email": "ann@x.sg",
            "request_type": "correction",
            "correction_field": "name",
            "correction_value": "\ufffd",
        },
        ["correction_value"],
    ),
    ({"email": ["a@x.sg", "b@x.sg"], "request_type": ["access", "deletion"]}, []),
]


@pytest.mark.parametrize("tenant_name", ["acme", None])
@pytest.mark.parametrize(("data", "fields"), GARBAGE)
def test_garbage_gives_field_errors_never_a_500(tenant_name, data, fields, request):
    tenant = request.getfixturevalue(tenant_name) if tenant_name else None
    response = client_for(tenant).post("/privacy/request/", data)
    assert response.status_code in (200, 302)
    if fields:
        assert response.status_code == 200
        page = response.content.decode()
        for field in fields:
            assert f'id="id_{field}_error"' in page, field


def test_wrong_methods(acme):
    client = client_for(acme)
    assert client.put("/privacy/request/").status_code == 405
    assert client.post("/privacy/request/sent/").status_code == 405
    assert client.delete("/privacy/download/x/").status_code == 405


def test_the_privacy_notice_links_to_the_form():
    page = client_for(None).get("/privacy/")
    assert b'href="/privacy/request/"' in page.content


@pytest.mark.parametrize("state", ["suspended", "trial over"])
def test_a_read_only_organisation_still_takes_privacy_requests(acme, ann_and_joann, state):
    """The PDPA obliges the organisation to answer whatever its account's state, so the form,
    the confirmation and the withdrawal stay writable while everything else is read-only."""
    from tenants.middleware import forget_hosts
    from tenants.models import Tenant

    if state == "suspended":
        acme.status = Tenant.Status.SUSPENDED
    else:
        acme.trial_ends_at = timezone.now() - timedelta(days=1)
    acme.save()
    forget_hosts()
    file_and_confirm(acme, ANN, "access")
    with schema_context("acme"):
        assert DSARRequest.objects.get(email=ANN).verified_at is not None
    # Everything else is still refused.
    assert client_for(acme).post("/f/contact/", {"name": "X"}).status_code == 403

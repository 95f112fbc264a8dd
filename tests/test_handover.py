"""Signing in on the public site and opening an organisation hands the person over."""

import time
from urllib.parse import urlsplit

from django.core import signing

from nexuscore.accounts.handover import SALT, issue_handover_token
from tests.conftest import client_for


def _open(client, slug):
    response = client.get(f"/accounts/organisations/{slug}/open/")
    assert response.status_code == 302
    return urlsplit(response["Location"])


def test_picker_lists_only_my_organisations(owner):
    response = client_for(None, owner).get("/accounts/organisations/")
    assert response.status_code == 200
    assert b"Acme Trading" in response.content
    assert b"Globex" not in response.content


def test_open_hands_over_to_the_tenant_host(acme, owner):
    location = _open(client_for(None, owner), "acme")
    assert location.hostname == "acme.localhost"
    tenant_client = client_for(acme)
    response = tenant_client.get(f"{location.path}?{location.query}")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert tenant_client.get("/").status_code == 200


def test_a_token_works_once(acme, owner):
    location = _open(client_for(None, owner), "acme")
    assert client_for(acme).get(f"{location.path}?{location.query}").status_code == 302
    second = client_for(acme)
    assert second.get(f"{location.path}?{location.query}").status_code == 400
    assert second.get("/").status_code == 302  # still anonymous


def test_an_expired_token_is_refused(acme, owner, settings):
    settings.HANDOVER_MAX_AGE_SECONDS = 1
    token = issue_handover_token(owner, acme)
    time.sleep(2.1)
    assert client_for(acme).get(f"/accounts/handover/?token={token}").status_code == 400


def test_a_token_for_another_host_is_refused(acme, globex, owner):
    token = issue_handover_token(owner, acme)
    assert client_for(globex).get(f"/accounts/handover/?token={token}").status_code == 400
    # and it was not spent by the attempt
    assert client_for(acme).get(f"/accounts/handover/?token={token}").status_code == 302


def test_a_tampered_token_is_refused(acme, globex, owner, outsider):
    token = issue_handover_token(outsider, globex)
    data = signing.loads(token, salt=SALT)
    forged = signing.dumps({**data, "schema": "acme"}, salt="guessed")
    assert client_for(acme).get(f"/accounts/handover/?token={forged}").status_code == 400
    assert client_for(acme).get(f"/accounts/handover/?token={token[:-2]}xx").status_code == 400


def test_cannot_open_an_organisation_i_do_not_belong_to(outsider):
    assert client_for(None, outsider).get("/accounts/organisations/acme/open/").status_code == 404


def test_anonymous_must_sign_in_before_opening(db):
    response = client_for(None).get("/accounts/organisations/acme/open/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_signing_in_on_the_public_site_leads_to_the_picker(owner):
    client = client_for(None)
    response = client.post("/accounts/login/", {"login": owner.email, "password": "nexuscore-demo"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/organisations/"

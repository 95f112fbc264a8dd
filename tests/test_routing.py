"""Hosts decide the URLconf and the schema; unknown hosts get a friendly 404."""

from tests.conftest import client_for


def test_public_host_serves_the_public_site(db):
    response = client_for(None).get("/")
    assert response.status_code == 200
    assert b"NexusCore" in response.content


def test_tenant_host_serves_the_tenant_app(acme, owner):
    response = client_for(acme, owner).get("/")
    assert response.status_code == 200
    assert acme.name.encode() in response.content


def test_public_only_pages_do_not_exist_on_tenant_hosts(acme, owner):
    client = client_for(acme, owner)
    assert client.get("/admin/").status_code == 404
    assert client.get("/accounts/organisations/").status_code == 404


def test_tenant_pages_do_not_exist_on_the_public_host(owner):
    client = client_for(None, owner)
    assert client.get("/activity/").status_code == 404
    assert client.get("/accounts/handover/").status_code == 404


def test_unknown_host_gets_a_friendly_404(db):
    response = client_for(None).get("/", HTTP_HOST="nobody.localhost")
    assert response.status_code == 404
    assert b"nobody.localhost" in response.content


def test_host_outside_allowed_hosts_is_refused(db):
    response = client_for(None).get("/", HTTP_HOST="evil.example.com")
    assert response.status_code in (400, 404)


def test_pages_carry_a_content_security_policy(acme, owner):
    response = client_for(acme, owner).get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy

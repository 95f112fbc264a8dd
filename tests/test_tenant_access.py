"""Who may see an organisation's pages: each role, anonymous, and people from elsewhere."""

import pytest
from django_tenants.utils import schema_context

from nexuscore.sessions.models import Session
from tenants.models import Tenant
from tests.conftest import client_for


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer"])
def test_every_role_sees_the_dashboard(request, acme, role):
    person = request.getfixturevalue(role)
    response = client_for(acme, person).get("/")
    assert response.status_code == 200
    assert person.name.encode() in response.content


def test_anonymous_goes_to_sign_in(acme):
    response = client_for(acme).get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/")


def test_a_member_of_another_organisation_gets_403(acme, outsider):
    response = client_for(acme, outsider).get("/")
    assert response.status_code == 403
    assert b"not a member" in response.content
    assert acme.name.encode() in response.content


def test_wrong_method_is_405(acme, owner):
    assert client_for(acme, owner).post("/").status_code == 405


@pytest.mark.parametrize(
    ("role", "status"), [("owner", 200), ("admin", 200), ("member", 403), ("viewer", 403)]
)
def test_activity_needs_the_audit_permission(request, acme, role, status):
    response = client_for(acme, request.getfixturevalue(role)).get("/activity/")
    assert response.status_code == status


def test_activity_shows_only_this_organisations_events(acme, globex, owner):
    response = client_for(acme, owner).get("/activity/")
    assert b"organisation.created" in response.content
    assert globex.name.encode() not in response.content


def test_a_session_from_one_organisation_is_worthless_on_another(acme, globex, outsider):
    """Sessions live in each schema: globex's session key does not exist in acme's schema."""
    globex_client = client_for(globex, outsider)
    assert globex_client.get("/").status_code == 200
    cookie = globex_client.cookies["nexuscore_session"].value
    with schema_context("acme"):
        assert not Session.objects.filter(session_key=cookie).exists()
    stolen = client_for(acme)
    stolen.cookies["nexuscore_session"] = cookie
    response = stolen.get("/")
    assert response.status_code == 302  # anonymous on acme


def test_a_public_session_does_not_sign_anyone_in_on_a_tenant_host(acme, owner):
    public_client = client_for(None, owner)
    cookie = public_client.cookies["nexuscore_session"].value
    tenant_client = client_for(acme)
    tenant_client.cookies["nexuscore_session"] = cookie
    assert tenant_client.get("/").status_code == 302


def test_signing_in_directly_on_a_tenant_host_works(acme, owner):
    client = client_for(acme)
    response = client.post("/accounts/login/", {"login": owner.email, "password": "nexuscore-demo"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_signup_is_closed_on_tenant_hosts(acme):
    response = client_for(acme).get("/accounts/signup/")
    assert b"closed" in response.content.lower()


def test_suspended_organisation_is_read_only_with_a_banner(acme, owner):
    Tenant.objects.filter(pk=acme.pk).update(status=Tenant.Status.SUSPENDED)
    acme.refresh_from_db()
    acme.save()  # clears the host cache
    client = client_for(acme, owner)
    page = client.get("/")
    assert page.status_code == 200
    assert b"suspended" in page.content
    assert client.post("/activity/").status_code == 403


def test_closed_organisation_answers_410(acme, owner):
    acme.status = Tenant.Status.CLOSED
    acme.save()
    assert client_for(acme, owner).get("/").status_code == 410

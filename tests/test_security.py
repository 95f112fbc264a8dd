"""Two-factor authentication: setting up an authenticator app, signing in with a code or a
recovery code, organisations that require it of their members, and the staff admin, which
requires it of staff and has no sign-in form of its own. The account page's part is in
test_account.py."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event
from tests.conftest import PASSWORD, client_for
from tests.cross_host import Browser
from tests.fixtures_mfa import give_authenticator, totp_code

ACTIVATE = "/accounts/2fa/totp/activate/"


def _events(event_type, user, schema="public"):
    with schema_context(schema):
        return list(Event.objects.filter(event_type=event_type, actor=user))


def _confirm_password(client):
    """allauth asks for the password again before authenticators change."""
    response = client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert response.status_code == 302


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _sign_in(client, user):
    """The first step, email and password; returns where allauth sends the person next."""
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return response["Location"]


# ---- Setting up an authenticator app ---------------------------------------------------------


@pytest.mark.parametrize("on_tenant_host", [False, True])
def test_the_set_up_page_shows_a_qr_code_our_csp_allows(acme, owner, on_tenant_host):
    client = client_for(acme if on_tenant_host else None, owner)
    assert client.get(ACTIVATE)["Location"].startswith("/accounts/reauthenticate/")
    _confirm_password(client)
    response = client.get(ACTIVATE)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Set up an authenticator app" in page
    assert '<img src="data:image/svg+xml;base64,' in page
    assert "img-src 'self' data:" in response["Content-Security-Policy"]
    secret = response.wsgi_request.session[SECRET_SESSION_KEY]
    assert f'value="{secret}"' in page  # for apps that cannot scan
    assert " style=" not in page
    layout_mark = 'id="sidebar"' if on_tenant_host else "Your organisations"
    assert layout_mark in page


def test_a_wrong_code_does_not_turn_two_factor_on(owner):
    client = client_for(None, owner)
    _confirm_password(client)
    secret = client.get(ACTIVATE).wsgi_request.session[SECRET_SESSION_KEY]
    for code in (_wrong(totp_code(secret)), "not a code", ""):
        response = client.post(ACTIVATE, {"code": code})
        assert response.status_code == 200
        assert "code" in response.context["form"].errors
    assert not Authenticator.objects.filter(user=owner).exists()
    assert _events("account.mfa_enabled", owner) == []


@pytest.mark.parametrize("on_tenant_host", [False, True])
def test_a_code_from_the_app_turns_two_factor_on(
    acme, owner, on_tenant_host, django_capture_on_commit_callbacks
):
    client = client_for(acme if on_tenant_host else None, owner)
    _confirm_password(client)
    secret = client.get(ACTIVATE).wsgi_request.session[SECRET_SESSION_KEY]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ACTIVATE, {"code": totp_code(secret)})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/recovery-codes/"
    types = set(Authenticator.objects.filter(user=owner).values_list("type", flat=True))
    assert types == {"totp", "recovery_codes"}
    [event] = _events("account.mfa_enabled", owner)
    host = "acme.localhost" if on_tenant_host else "localhost"
    assert event.data == {"method": "totp", "host": host}
    assert _events("account.mfa_enabled", owner, schema="acme") == []
    codes = client.get("/accounts/2fa/recovery-codes/")
    assert codes.status_code == 200
    assert b"Recovery codes" in codes.content


def test_the_two_factor_page_says_whether_it_is_on(owner):
    client = client_for(None, owner)
    assert b"Set up an authenticator app" in client.get("/accounts/2fa/").content
    give_authenticator(owner)
    page = client.get("/accounts/2fa/").content
    assert b"10 of 10 codes left" in page
    assert b"Turn off" in page


def test_turning_two_factor_off_is_recorded(owner):
    give_authenticator(owner)
    client = client_for(None, owner)
    _confirm_password(client)
    response = client.post("/accounts/2fa/totp/deactivate/")
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=owner).exists()  # recovery codes go too
    [event] = _events("account.mfa_disabled", owner)
    assert event.data == {"method": "totp", "host": "localhost"}


def test_new_recovery_codes_are_recorded(owner, django_capture_on_commit_callbacks):
    old_codes = give_authenticator(owner)
    client = client_for(None, owner)
    _confirm_password(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/accounts/2fa/recovery-codes/generate/").status_code == 302
    [event] = _events("account.recovery_codes_regenerated", owner)
    assert event.data == {"host": "localhost"}
    rc = Authenticator.objects.get(user=owner, type="recovery_codes").wrap()
    assert set(rc.get_unused_codes()).isdisjoint(old_codes)


# ---- Signing in with two-factor --------------------------------------------------------------


@pytest.mark.parametrize("on_tenant_host", [False, True])
def test_signing_in_asks_for_the_code_after_the_password(acme, owner, on_tenant_host):
    give_authenticator(owner)
    client = client_for(acme if on_tenant_host else None)
    assert _sign_in(client, owner) == "/accounts/2fa/authenticate/"
    assert client.get("/accounts/email/").status_code == 302  # not signed in yet
    page = client.get("/accounts/2fa/authenticate/")
    assert page.status_code == 200
    assert b"Enter your code" in page.content

    wrong = client.post("/accounts/2fa/authenticate/", {"code": _wrong(totp_code())})
    assert wrong.status_code == 200
    assert "code" in wrong.context["form"].errors

    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code()})
    assert response.status_code == 302
    assert response["Location"] == ("/" if on_tenant_host else "/accounts/organisations/")
    assert client.get("/accounts/email/").status_code == 200


def test_people_without_two_factor_sign_in_with_the_password_alone(owner):
    client = client_for(None)
    assert _sign_in(client, owner) == "/accounts/organisations/"


def test_a_recovery_code_signs_in_once(owner):
    codes = give_authenticator(owner)
    first = client_for(None)
    _sign_in(first, owner)
    response = first.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert response["Location"] == "/accounts/organisations/"

    second = client_for(None)
    _sign_in(second, owner)
    again = second.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert again.status_code == 200
    assert "code" in again.context["form"].errors
    assert second.get("/accounts/organisations/").status_code == 302
    rc = Authenticator.objects.get(user=owner, type="recovery_codes").wrap()
    assert codes[0] not in rc.get_unused_codes()
    assert len(rc.get_unused_codes()) == len(codes) - 1


# ---- Organisations that require two-factor ---------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer"])
@pytest.mark.usefixtures("acme_requires_two_factor")
def test_members_without_two_factor_are_sent_to_set_it_up(request, acme, role):
    client = client_for(acme, request.getfixturevalue(role))
    for page in ("/", "/activity/"):
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"] == ACTIVATE
    explained = client.get("/", follow=True)
    assert b"Acme Trading Pte. Ltd. requires two-factor authentication" in explained.content


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer"])
@pytest.mark.usefixtures("acme_requires_two_factor")
def test_members_with_two_factor_go_in(request, acme, role):
    person = request.getfixturevalue(role)
    give_authenticator(person)
    assert client_for(acme, person).get("/").status_code == 200


@pytest.mark.usefixtures("acme_requires_two_factor")
def test_an_htmx_request_is_redirected_by_htmx(acme, member):
    response = client_for(acme, member).get("/", headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == ACTIVATE


@pytest.mark.usefixtures("acme_requires_two_factor")
def test_anonymous_and_outsiders_are_answered_as_before(acme, outsider):
    assert client_for(acme).get("/")["Location"].startswith("/accounts/login/")
    assert client_for(acme, outsider).get("/").status_code == 403


@pytest.mark.usefixtures("acme_requires_two_factor")
def test_the_pages_to_set_it_up_stay_open(acme, member):
    client = client_for(acme, member)
    for page in ("/accounts/2fa/", "/accounts/reauthenticate/", "/accounts/email/"):
        assert client.get(page).status_code == 200, page
    _confirm_password(client)
    assert client.get(ACTIVATE).status_code == 200


@pytest.mark.usefixtures("acme_requires_two_factor")
def test_the_requirement_is_one_organisations_own(acme, globex, outsider):
    assert client_for(globex, outsider).get("/").status_code == 200


@pytest.mark.usefixtures("acme_requires_two_factor")
def test_a_hand_over_without_two_factor_lands_on_the_set_up_page(acme, owner):
    browser = Browser(client_for(None, owner))
    browser.get("http://localhost/accounts/organisations/acme/open/?next=/activity/")
    assert f"http://acme.localhost{ACTIVATE}" in browser.visited
    assert "http://acme.localhost/activity/" not in browser.visited
    assert browser.client("acme.localhost").get("/").status_code == 302  # signed in, not let in


@pytest.mark.usefixtures("acme_requires_two_factor")
def test_a_hand_over_with_two_factor_goes_in(acme, owner):
    give_authenticator(owner)
    browser = Browser(client_for(None, owner))
    assert browser.get("http://localhost/accounts/organisations/acme/open/").status_code == 200
    assert browser.visited[-1] == "http://acme.localhost/"


# ---- The staff admin -------------------------------------------------------------------------


def test_staff_without_two_factor_cannot_reach_admin_pages(staff):
    client = client_for(None, staff)
    for page in ("/admin/", "/admin/accounts/user/", "/admin/audit/event/"):
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/admin/login/?next=/admin/"), page


def test_staff_without_two_factor_are_told_to_set_it_up(staff):
    response = client_for(None, staff).get("/admin/", follow=True)
    assert response.status_code == 403
    page = response.content.decode()
    assert "Set up two-factor authentication first" in page
    assert f'href="{ACTIVATE}"' in page


def test_staff_with_two_factor_reach_admin_pages(staff_with_mfa):
    client = client_for(None, staff_with_mfa)
    for page in ("/admin/", "/admin/accounts/user/", "/admin/audit/event/"):
        assert client.get(page).status_code == 200, page


def test_people_who_are_not_staff_are_told_the_admin_is_for_staff(owner):
    response = client_for(None, owner).get("/admin/", follow=True)
    assert response.status_code == 403
    assert b"The staff admin is for NexusCore staff" in response.content
    give_authenticator(owner)
    assert client_for(None, owner).get("/admin/login/").status_code == 403


def test_the_admin_sign_in_goes_through_allauth(staff_with_mfa):
    client = client_for(None)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=%2Fadmin%2F"
    # Posting a password to the admin's own form signs nobody in.
    posted = client.post(
        "/admin/login/?next=/admin/", {"username": staff_with_mfa.email, "password": PASSWORD}
    )
    assert posted["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    assert client.get("/admin/").status_code == 302


def test_staff_sign_in_with_password_and_code_then_reach_the_admin(staff_with_mfa):
    client = client_for(None)
    response = client.post(
        "/accounts/login/?next=/admin/",
        {"login": staff_with_mfa.email, "password": PASSWORD, "next": "/admin/"},
    )
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/admin/").status_code == 302  # the password alone is not enough
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code()})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_admin_sign_in_keeps_only_local_next_addresses(db):
    response = client_for(None).get("/admin/login/?next=https://evil.example/")
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"


def test_signed_in_staff_with_two_factor_pass_through_the_admin_sign_in(staff_with_mfa):
    response = client_for(None, staff_with_mfa).get("/admin/login/?next=/admin/accounts/user/")
    assert response["Location"] == "/admin/accounts/user/"


def test_the_admin_password_change_is_allauths(staff_with_mfa):
    response = client_for(None, staff_with_mfa).get("/admin/password_change/")
    assert response["Location"] == "/accounts/password/change/"

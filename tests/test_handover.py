"""Signing in on the public site and opening an organisation hands the person over.

The hand-over starts on the organisation's host (a cookie there), is issued on the public host
(the person's session there) and redeemed back on the organisation's host, only in the browser
that holds the cookie. `Browser` keeps cookies per host as a browser does.
"""

import hashlib
import time
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import time_machine
from django.core import signing

from nexuscore.accounts.handover import SALT, STATE_COOKIE
from nexuscore.accounts.models import HandoverToken
from tests.conftest import PASSWORD, client_for, host
from tests.cross_host import Browser

START = "/accounts/handover/start/"


def _address(tenant, path: str) -> str:
    return f"http://{host(tenant)}{path}"


def _signed_in_on_the_public_site(user) -> Browser:
    return Browser(client_for(None, user))


def _token_address(browser, tenant) -> str:
    """Go through the hand-over up to its last step: the address (on the organisation's host,
    with the token) that the browser would open next."""
    start = _address(tenant, START)
    to_public = browser.get(start, follow=False)
    assert to_public.status_code == 302
    to_tenant = browser.get(urljoin(start, to_public["Location"]), follow=False)
    assert to_tenant.status_code == 302
    return to_tenant["Location"]


def _is_signed_in(browser, tenant) -> bool:
    return browser.client(host(tenant)).get("/").status_code == 200


# ---- The organisation picker and the way in --------------------------------------------------


def test_picker_lists_only_my_organisations_each_a_link_to_its_host(owner):
    response = client_for(None, owner).get("/accounts/organisations/")
    assert response.status_code == 200
    assert b"Acme Trading" in response.content
    assert b"Globex" not in response.content
    assert b'href="http://acme.localhost/accounts/handover/start/"' in response.content


def test_opening_an_organisation_from_the_picker_signs_me_in_there(acme, owner):
    browser = _signed_in_on_the_public_site(owner)
    response = browser.get(_address(acme, START))
    assert response.status_code == 200
    assert b"Acme Trading" in response.content
    # Three redirects: to the public host, back with the token, into the dashboard.
    assert [urlsplit(address).hostname for address in browser.visited] == [
        "acme.localhost",
        "localhost",
        "acme.localhost",
        "acme.localhost",
    ]
    assert browser.visited[-1] == "http://acme.localhost/"
    assert browser.cookie("acme.localhost", STATE_COOKIE) == ""  # used up
    assert not HandoverToken.objects.exists()


def test_the_public_host_sees_only_a_hash_of_the_cookie(acme, owner):
    browser = _signed_in_on_the_public_site(owner)
    response = browser.get(_address(acme, START), follow=False)
    cookie = response.cookies[STATE_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain http in development
    assert 0 < int(cookie["max-age"]) <= 15 * 60
    assert cookie["path"] == "/accounts/handover/"
    location = urlsplit(response["Location"])
    assert location.hostname == "localhost"
    assert location.path == "/accounts/organisations/acme/handover/"
    sent = parse_qs(location.query)["state"][0]
    assert cookie.value not in response["Location"]
    assert sent == hashlib.sha256(cookie.value.encode()).hexdigest()


def test_the_cookie_is_secure_where_sessions_are(acme, settings):
    settings.SESSION_COOKIE_SECURE = True
    response = client_for(acme).get(START)
    assert response.cookies[STATE_COOKIE]["secure"] is True


def test_old_open_links_still_lead_into_the_organisation(acme, owner):
    """Emails and the sign-up and invitation pages name /accounts/organisations/<slug>/open/."""
    browser = _signed_in_on_the_public_site(owner)
    response = browser.get(_address(None, "/accounts/organisations/acme/open/"))
    assert response.status_code == 200
    assert browser.visited[1] == _address(acme, START)
    assert browser.visited[-1] == "http://acme.localhost/"
    assert _is_signed_in(browser, acme)


def test_next_leads_to_a_page_of_the_organisation(acme, owner):
    browser = _signed_in_on_the_public_site(owner)
    browser.get(_address(acme, f"{START}?next=/leads/%3Fstatus%3Dnew"))
    assert browser.visited[-1] == "http://acme.localhost/leads/?status=new"


@pytest.mark.parametrize(
    "elsewhere",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "leads/", "javascript:x"],
)
def test_next_never_leads_off_the_organisations_host(acme, owner, elsewhere):
    browser = _signed_in_on_the_public_site(owner)
    token_address = urlsplit(_token_address(browser, acme))
    response = browser.client("acme.localhost").get(
        token_address.path, {**parse_qs(token_address.query), "next": elsewhere}
    )
    assert response["Location"] == "/"


def test_anonymous_start_signs_in_on_the_public_site_and_comes_back(acme, owner):
    browser = Browser()
    login_page = browser.get(_address(acme, START))
    assert login_page.status_code == 200
    login_address = browser.visited[-1]
    assert urlsplit(login_address).path == "/accounts/login/"
    assert not _is_signed_in(browser, acme)

    response = browser.post(login_address, {"login": owner.email, "password": PASSWORD})
    assert response.status_code == 200
    assert browser.visited[-1] == "http://acme.localhost/"
    assert _is_signed_in(browser, acme)


def test_anonymous_open_must_sign_in_first(db):
    response = client_for(None).get("/accounts/organisations/acme/open/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_cannot_open_an_organisation_i_do_not_belong_to(outsider):
    client = client_for(None, outsider)
    assert client.get("/accounts/organisations/acme/open/").status_code == 404
    state = hashlib.sha256(b"anything").hexdigest()
    assert client.get(f"/accounts/organisations/acme/handover/?state={state}").status_code == 404
    assert not HandoverToken.objects.exists()


@pytest.mark.parametrize("state", [None, "", "not-a-hash", "a" * 63])
def test_no_token_without_a_hash_of_the_organisations_cookie(acme, owner, state):
    query = "" if state is None else f"?state={state}"
    response = client_for(None, owner).get(f"/accounts/organisations/acme/handover/{query}")
    assert response.status_code == 400
    assert not HandoverToken.objects.exists()


def test_each_step_answers_get_only(acme, owner):
    assert client_for(acme).post(START).status_code == 405
    assert client_for(acme).post("/accounts/handover/").status_code == 405
    public = client_for(None, owner)
    assert public.post("/accounts/organisations/acme/open/").status_code == 405
    assert public.post("/accounts/organisations/acme/handover/").status_code == 405


# ---- Tokens bound to the browser that asked -----------------------------------------------


def test_a_token_without_the_cookie_is_refused(acme, owner):
    token_address = urlsplit(_token_address(_signed_in_on_the_public_site(owner), acme))
    elsewhere = Browser()  # another browser: the link alone, no cookie
    response = elsewhere.client("acme.localhost").get(f"{token_address.path}?{token_address.query}")
    assert response.status_code == 400
    assert not _is_signed_in(elsewhere, acme)


def test_an_attackers_token_does_not_sign_a_victim_into_the_attackers_organisation(
    globex, outsider, owner
):
    """The login CSRF: the owner of globex sends their own hand-over link to someone else,
    whose browser also holds a hand-over cookie of globex's host, its own."""
    attacker = _signed_in_on_the_public_site(outsider)
    bait = _token_address(attacker, globex)

    victim = _signed_in_on_the_public_site(owner)
    assert victim.get(_address(globex, START)).status_code == 404  # not a member there
    assert victim.cookie("globex.localhost", STATE_COOKIE)
    response = victim.get(bait)
    assert response.status_code == 400
    assert not _is_signed_in(victim, globex)

    # The refusal spent nothing: the link still works in the browser that asked for it.
    assert attacker.get(bait).status_code == 200
    assert _is_signed_in(attacker, globex)


def test_a_token_works_once(acme, owner):
    browser = _signed_in_on_the_public_site(owner)
    token_address = _token_address(browser, acme)
    cookie = browser.cookie("acme.localhost", STATE_COOKIE)
    assert browser.get(token_address, follow=False)["Location"] == "/"
    acme_client = browser.client("acme.localhost")
    acme_client.logout()
    acme_client.cookies[STATE_COOKIE] = cookie  # as if it had been kept: the link still fails
    response = browser.get(token_address, follow=False)
    assert response.status_code == 400
    assert not _is_signed_in(browser, acme)


def test_a_token_is_refused_once_its_cookie_was_used(acme, owner):
    """Two tokens for one cookie (the public step opened twice): the first one used ends it."""
    browser = _signed_in_on_the_public_site(owner)
    first = _token_address(browser, acme)
    issue = urlsplit(browser.visited[-1])
    second = browser.client("localhost").get(f"{issue.path}?{issue.query}")["Location"]
    assert browser.get(first, follow=False).status_code == 302
    browser.client("acme.localhost").logout()
    assert browser.get(second, follow=False).status_code == 400


def test_a_token_for_another_organisations_host_is_refused(acme, globex, owner):
    browser = _signed_in_on_the_public_site(owner)
    token_address = urlsplit(_token_address(browser, acme))
    # Even with acme's cookie copied to globex's host, which no browser would do.
    globex_client = browser.client("globex.localhost")
    globex_client.cookies[STATE_COOKIE] = browser.cookie("acme.localhost", STATE_COOKIE)
    response = globex_client.get(f"{token_address.path}?{token_address.query}")
    assert response.status_code == 400
    assert globex_client.get("/").status_code == 302
    # and it was not spent by the attempt
    assert browser.get(token_address.geturl(), follow=False)["Location"] == "/"


def test_an_expired_token_is_refused(acme, owner, settings):
    browser = _signed_in_on_the_public_site(owner)
    with time_machine.travel(time.time() - settings.HANDOVER_MAX_AGE_SECONDS - 1, tick=False):
        token_address = _token_address(browser, acme)
    response = browser.get(token_address, follow=False)
    assert response.status_code == 400
    assert not _is_signed_in(browser, acme)


def test_a_tampered_token_is_refused(acme, owner):
    browser = _signed_in_on_the_public_site(owner)
    token_address = urlsplit(_token_address(browser, acme))
    token = parse_qs(token_address.query)["token"][0]
    acme_client = browser.client("acme.localhost")
    data = signing.loads(token, salt=SALT)
    forged = signing.dumps({**data, "schema": "acme"}, salt="guessed")
    assert acme_client.get("/accounts/handover/", {"token": forged}).status_code == 400
    assert acme_client.get("/accounts/handover/", {"token": f"{token[:-2]}xx"}).status_code == 400
    assert not _is_signed_in(browser, acme)


def test_signing_in_on_the_public_site_leads_to_the_picker(owner):
    client = client_for(None)
    response = client.post("/accounts/login/", {"login": owner.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/organisations/"

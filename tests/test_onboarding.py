"""Creating an organisation at /signup/: signing up first, the form, its live checks, and the
hand-over to the new organisation."""

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from nexuscore.accounts.models import User
from nexuscore.billing.models import TRIAL_DAYS, Subscription
from nexuscore.onboarding.forms import first_free_slug, slug_from_name, suggest_slugs
from nexuscore.onboarding.provisioning import provision_tenant
from tenants.models import Membership, Tenant
from tests.conftest import client_for
from tests.cross_host import Browser

UEN = "202400001N"
OTHER_UEN = "202400002E"


def _form(**changes):
    data = {
        "name": "Initech Pte. Ltd.",
        "slug": "initech",
        "uen": UEN,
        "billing_email": "accounts@initech.test",
        "plan": "growth-month",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _hx(client, path, **params):
    return client.get(path, params, HTTP_HX_REQUEST="true")


def _checked_plan(content: bytes) -> str:
    """The SKU of the plan radio that is checked in the page."""
    match = re.search(rb'<input type="radio" name="plan" value="([^"]+)"[^>]*checked', content)
    return match.group(1).decode() if match else ""


# ---- Who gets the form ---------------------------------------------------------------------


def test_anonymous_people_sign_up_first_and_keep_the_plan(db):
    client = client_for(None)
    response = client.get("/signup/?plan=scale-month")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/signup/?next=/signup/%3Fplan%3Dscale-month"
    assert client.session["onboarding_plan"] == "scale-month"


def test_people_with_an_account_can_sign_in_instead_and_come_back(owner):
    signup = client_for(None).get("/accounts/signup/?next=/signup/%3Fplan%3Dscale-month")
    assert b'href="/accounts/login/?next=%2Fsignup%2F%3Fplan%3Dscale-month"' in signup.content
    client = client_for(None)
    response = client.post(
        "/accounts/login/?next=/signup/%3Fplan%3Dscale-month",
        {"login": owner.email, "password": "nexuscore-demo"},
    )
    assert response["Location"] == "/signup/?plan=scale-month"
    assert _checked_plan(client.get(response["Location"]).content) == "scale-month"


def test_an_anonymous_post_is_sent_to_sign_up_too(db):
    response = client_for(None).post("/signup/", _form())
    assert response.status_code == 302
    assert response["Location"] == "/accounts/signup/?next=/signup/"
    assert not Tenant.objects.filter(schema_name="initech").exists()


def test_wrong_method_is_405(owner):
    assert client_for(None, owner).put("/signup/").status_code == 405
    assert client_for(None, owner).post("/signup/check-subdomain/").status_code == 405
    assert client_for(None, owner).post("/signup/check-uen/").status_code == 405


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer", "outsider"])
def test_anyone_signed_in_gets_the_form_with_the_plans(request, role):
    person = request.getfixturevalue(role)
    response = client_for(None, person).get("/signup/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Create your organisation" in content
    for plan in ("Starter", "Growth", "Scale"):
        assert plan in content
    assert "S$149.00 a month" in content
    assert f'value="{person.email}"' in content  # billing email defaults to theirs
    assert _checked_plan(response.content) == "growth-month"


def test_the_plan_comes_from_the_link_then_from_the_session(owner):
    client = client_for(None, owner)
    assert _checked_plan(client.get("/signup/?plan=scale-year").content) == "scale-year"
    assert _checked_plan(client.get("/signup/").content) == "scale-year"
    # An unknown plan changes nothing.
    assert _checked_plan(client.get("/signup/?plan=gold-forever").content) == "scale-year"


def test_signup_is_not_on_organisation_hosts(acme, owner):
    assert client_for(acme, owner).get("/signup/").status_code == 404


def test_the_organisations_page_links_to_signup(owner, staff):
    assert b'href="/signup/"' in client_for(None, owner).get("/accounts/organisations/").content
    # Someone in no organisation yet gets the link in the empty state.
    assert b'href="/signup/"' in client_for(None, staff).get("/accounts/organisations/").content


def test_sign_up_verify_and_come_back_to_the_chosen_plan(db, mailoutbox):
    """The whole way in: the plan chosen on the price list survives sign-up and verification."""
    client = client_for(None)
    signup = client.get("/signup/?plan=scale-month")["Location"]
    response = client.post(
        signup,
        {
            "email": "new.founder@initech.test",
            "password1": "a-long-unusual-passphrase-42",
            "password2": "a-long-unusual-passphrase-42",
            "name": "Nina Founder",
            "company": "Initech",
        },
    )
    assert response.status_code == 302
    assert not User.objects.get(email="new.founder@initech.test").memberships.exists()
    link = re.search(r"http://localhost(/accounts/confirm-email/[^/\s]+/)", mailoutbox[-1].body)
    confirmed = client.post(link.group(1))
    assert confirmed.status_code == 302
    assert confirmed["Location"] == "/signup/?plan=scale-month"
    page = client.get("/signup/")
    assert _checked_plan(page.content) == "scale-month"
    assert b'value="new.founder@initech.test"' in page.content


# ---- Creating it ---------------------------------------------------------------------------


def test_creating_an_organisation_starts_a_trial_and_hands_over(owner):
    client = client_for(None, owner)
    client.get("/signup/?plan=starter-year")
    response = client.post(
        "/signup/",
        _form(plan="starter-year", is_gst_registered="on", gst_number="m9-0364567-l"),
    )
    assert response.status_code == 302
    assert response["Location"] == "http://initech.localhost/accounts/handover/start/"

    tenant = Tenant.objects.get(schema_name="initech")
    assert tenant.name == "Initech Pte. Ltd."
    assert tenant.uen == UEN
    assert tenant.is_gst_registered and tenant.gst_number == "M90364567L"
    assert tenant.billing_email == "accounts@initech.test"
    assert tenant.owner == owner
    assert Membership.objects.get(tenant=tenant, user=owner).role == "owner"
    subscription = Subscription.objects.get(tenant=tenant)
    assert subscription.status == "trialing"
    assert subscription.plan.sku == "starter-year"
    assert subscription.trial_end - subscription.trial_start == timedelta(days=TRIAL_DAYS)
    assert abs(subscription.trial_end - (timezone.now() + timedelta(days=14))) < timedelta(
        minutes=1
    )
    assert tenant.trial_ends_at == subscription.trial_end
    assert "onboarding_plan" not in client.session

    # The hand-over signs the owner in on the new host, where the dashboard names it.
    dashboard = Browser(client).get(response["Location"])
    assert dashboard.status_code == 200
    assert b"Initech Pte. Ltd." in dashboard.content


def test_not_gst_registered_drops_a_stray_number(owner):
    response = client_for(None, owner).post("/signup/", _form(gst_number="whatever"))
    assert response.status_code == 302
    tenant = Tenant.objects.get(schema_name="initech")
    assert not tenant.is_gst_registered and tenant.gst_number == ""


@pytest.mark.parametrize(
    ("slug", "message", "suggestions"),
    [
        ("acme", "already taken", ["acme-sg", "acme-2", "acme-pte"]),
        ("ACME", "already taken", ["acme-sg", "acme-2", "acme-pte"]),
        ("admin", "reserved", ["admin-sg", "admin-2", "admin-pte"]),
        ("Acme Trading", "3 to 32", ["acme-trading", "acme-trading-sg", "acme-trading-2"]),
        ("a", "3 to 32", ["a-sg", "a-2", "a-pte"]),
        ("xn--acme", "hyphens in a row", ["xn-acme", "xn-acme-sg", "xn-acme-2"]),
        ("", "Choose a subdomain", []),
    ],
)
def test_bad_subdomains_are_refused_with_suggestions(owner, slug, message, suggestions):
    response = client_for(None, owner).post("/signup/", _form(slug=slug))
    assert response.status_code == 200
    content = response.content.decode()
    error = re.search(r'<ul class="field-errors" id="id_slug_error">(.*?)</ul>', content, re.S)
    assert message in error.group(1)
    offered = re.findall(r'name="suggested_slug" value="([^"]+)"', content)
    assert offered == suggestions
    for suggestion in offered:
        assert f'hx-get="/signup/check-subdomain/?slug={suggestion}"' in content
    assert 'value="Initech Pte. Ltd."' in content  # what was typed is kept
    assert f'value="{UEN}"' in content
    assert not Tenant.objects.filter(name="Initech Pte. Ltd.").exists()


def test_suggestions_skip_taken_subdomains(owner):
    provision_tenant(name="Acme Singapore", slug="acme-sg", owner=owner, uen=OTHER_UEN)
    assert suggest_slugs("acme") == ["acme-2", "acme-pte", "acme-co"]


def test_choosing_a_suggestion_without_javascript_keeps_the_form(owner):
    data = _form(slug="acme", is_gst_registered="on", gst_number="M90364567L")
    response = client_for(None, owner).post("/signup/", {**data, "suggested_slug": "acme-sg"})
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="slug" id="id_slug" value="acme-sg"' in content
    assert "Your address will be" in content
    assert 'value="Initech Pte. Ltd."' in content
    assert 'value="M90364567L"' in content
    assert 'name="is_gst_registered" id="id_is_gst_registered" checked' in content
    assert not Tenant.objects.filter(schema_name="acme-sg").exists()


@pytest.mark.parametrize(
    ("uen", "message"),
    [
        ("12345678A", "last character"),
        ("1234", "9 or 10 characters"),
        ("", "Enter your organisation's UEN"),
        ("202301234G", "already uses NexusCore"),  # acme's, typed as given
        ("2023-01234g", "already uses NexusCore"),  # the same, as people type it
    ],
)
def test_bad_or_taken_uens_are_refused(owner, acme, uen, message):
    response = client_for(None, owner).post("/signup/", _form(uen=uen))
    assert response.status_code == 200
    content = response.content.decode()
    error = re.search(r'<ul class="field-errors" id="id_uen_error">(.*?)</ul>', content, re.S)
    assert message in html.unescape(error.group(1))
    assert acme.name not in content  # which organisation has it is not revealed
    assert not Tenant.objects.filter(schema_name="initech").exists()


@pytest.mark.parametrize(
    ("gst_number", "message"),
    [("", "Enter your GST registration number"), ("GST123", "your UEN or an IRAS number")],
)
def test_gst_registered_needs_a_valid_number(owner, gst_number, message):
    response = client_for(None, owner).post(
        "/signup/", _form(is_gst_registered="on", gst_number=gst_number)
    )
    assert response.status_code == 200
    error = re.search(
        r'<ul class="field-errors" id="id_gst_number_error">(.*?)</ul>',
        response.content.decode(),
        re.S,
    )
    assert message in error.group(1)
    assert not Tenant.objects.filter(schema_name="initech").exists()


GARBAGE = [
    {},
    {"name": "x" * 5000, "slug": "y" * 5000, "uen": "z" * 5000, "billing_email": "@" * 300},
    {"name": "\x00", "slug": "\x00", "uen": "\x00", "gst_number": "\x00", "plan": "\x00"},
    {"name": "   ", "plan": "growth-month' OR 1=1 --", "billing_email": "not an email"},
    {"name": "🚀 Ünïcödé", "slug": "ünïcödé", "uen": "\uff12\uff10\uff12\uff14"},
    {"is_gst_registered": "on", "gst_number": "M" * 60, "billing_email": "a@b.sg\r\nBcc: x@y.z"},
    {"plan": ["a", "b"], "slug": ["acme", "acme-sg"], "suggested_slug": "\x00"},
]


@pytest.mark.parametrize("data", GARBAGE)
def test_garbage_gives_field_errors_never_a_500(owner, data):
    response = client_for(None, owner).post("/signup/", data)
    assert response.status_code == 200
    assert b"Create your organisation" in response.content
    assert not Tenant.objects.exclude(schema_name__in=["public", "acme", "globex"]).exists()


# ---- Live checks ---------------------------------------------------------------------------


def test_a_free_subdomain_is_available(owner):
    response = _hx(client_for(None, owner), "/signup/check-subdomain/", slug="Initech")
    assert response.status_code == 200
    content = response.content.decode()
    assert "<html" not in content  # a partial
    assert 'id="slug-field"' in content
    assert "Your address will be" in content
    assert ">initech.localhost</strong>" in content
    assert 'id="id_slug_error"' not in content


@pytest.mark.parametrize(
    ("slug", "message"),
    [("acme", "already taken"), ("www", "reserved"), ("ab", "3 to 32"), ("\x00", "3 to 32")],
)
def test_a_subdomain_that_cannot_be_had_says_why(owner, slug, message):
    response = _hx(client_for(None, owner), "/signup/check-subdomain/", slug=slug)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert b"Your address will be" not in response.content


def test_a_taken_subdomain_offers_suggestions_that_fill_the_field(owner):
    client = client_for(None, owner)
    content = _hx(client, "/signup/check-subdomain/", slug="acme").content.decode()
    assert 'hx-get="/signup/check-subdomain/?slug=acme-sg" hx-target="#slug-field"' in content
    # Following a suggestion renders the field with it filled in.
    chosen = _hx(client, "/signup/check-subdomain/", slug="acme-sg").content.decode()
    assert 'name="slug" id="id_slug" value="acme-sg"' in chosen
    assert "Your address will be" in chosen


def test_typing_the_name_suggests_a_subdomain_until_one_is_typed(owner):
    client = client_for(None, owner)
    params = {"from_name": "1", "name": "Acme Trading Pte. Ltd.", "slug": "", "slug_suggested": ""}
    content = _hx(client, "/signup/check-subdomain/", **params).content.decode()
    assert 'value="acme-trading"' in content
    assert 'name="slug_suggested" id="id_slug_suggested" value="acme-trading"' in content

    # The suggestion follows the name while the person leaves the subdomain alone ...
    params.update(name="Acme Holdings", slug="acme-trading", slug_suggested="acme-trading")
    content = _hx(client, "/signup/check-subdomain/", **params).content.decode()
    assert 'name="slug" id="id_slug" value="acme-holdings"' in content
    # ... and stops once they type their own.
    params.update(name="Acme Foods", slug="my-own", slug_suggested="acme-holdings")
    content = _hx(client, "/signup/check-subdomain/", **params).content.decode()
    assert 'name="slug" id="id_slug" value="my-own"' in content


def test_a_name_whose_subdomain_is_taken_gets_a_free_one(owner):
    assert first_free_slug("ACME Pte Ltd") == "acme-sg"
    assert slug_from_name("123 Ventures LLP") == "ventures"
    assert slug_from_name("!!!") == ""


@pytest.mark.parametrize(
    ("uen", "expected"),
    [
        (UEN, "A valid UEN"),
        ("202400001X", "last character"),
        ("202301234G", "already uses NexusCore"),
        ("", "The Unique Entity Number ACRA gave"),
        ("\x00" * 3, "9 or 10 characters"),
    ],
)
def test_the_uen_check(owner, uen, expected):
    response = _hx(client_for(None, owner), "/signup/check-uen/", uen=uen)
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b'id="uen-field"' in response.content
    assert expected in html.unescape(response.content.decode())


def test_live_checks_send_anonymous_people_to_sign_in(db):
    client = client_for(None)
    response = _hx(client, "/signup/check-subdomain/", slug="initech")
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=/signup/"
    response = client.get("/signup/check-uen/", {"uen": UEN})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/signup/"


def test_live_checks_ignore_garbage(owner):
    client = client_for(None, owner)
    for params in ({}, {"slug": "x" * 10000}, {"slug": ["a", "b"]}, {"from_name": "1"}):
        assert _hx(client, "/signup/check-subdomain/", **params).status_code == 200
    for params in ({}, {"uen": "x" * 10000}, {"uen": "🚀"}):
        assert _hx(client, "/signup/check-uen/", **params).status_code == 200

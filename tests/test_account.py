"""A person's own account, on the public host and on organisation hosts: the account page
(details and email choices), changing the password and changing the email address. Security
changes are recorded in the public schema's audit log, whichever host they happen on."""

import re

import pytest
from allauth.account.models import EmailAddress
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event
from tests.conftest import PASSWORD, client_for
from tests.fixtures_mfa import give_authenticator

PROFILE = "/accounts/profile/"


def _events(event_type, user, schema="public"):
    with schema_context(schema):
        return list(Event.objects.filter(event_type=event_type, actor=user))


def _valid_profile(**overrides):
    data = {
        "name": "Alice Tan",
        "company": "Acme Trading",
        "phone": "9123 4567",
        "timezone": "Asia/Singapore",
        "trial": "on",
        "follow_ups": "on",
        "product_news": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# ---- The account page ------------------------------------------------------------------------


@pytest.mark.parametrize("on_tenant_host", [False, True])
def test_anonymous_are_sent_to_sign_in(acme, on_tenant_host):
    response = client_for(acme if on_tenant_host else None).get(PROFILE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/accounts/profile/")


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_wrong_method_is_405(owner, method):
    assert getattr(client_for(None, owner), method)(PROFILE).status_code == 405


def test_the_public_host_shows_my_details_and_links_to_security_pages(owner):
    response = client_for(None, owner).get(PROFILE)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Your account" in page
    assert 'value="Alice Tan"' in page
    assert owner.email in page
    for link in ("/accounts/email/", "/accounts/password/change/", "/accounts/2fa/"):
        assert f'href="{link}"' in page
    assert "Your organisations" in page  # the public site's layout


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer"])
def test_every_role_has_an_account_page_on_the_organisation_host(request, acme, role):
    person = request.getfixturevalue(role)
    response = client_for(acme, person).get(PROFILE)
    assert response.status_code == 200
    assert f'value="{person.name}"'.encode() in response.content
    assert b'id="sidebar"' in response.content  # the app's layout, as a member


def test_someone_from_another_organisation_sees_only_their_own_account(acme, outsider, owner):
    response = client_for(acme, outsider).get(PROFILE)
    assert response.status_code == 200
    assert outsider.email.encode() in response.content
    assert owner.email.encode() not in response.content
    assert b'id="sidebar"' not in response.content  # no acme navigation for a non-member


def test_saving_details_normalises_and_records_them(acme, owner):
    client = client_for(acme, owner)
    response = client.post(
        PROFILE,
        _valid_profile(
            name="  Alice   Tan Mei Ling ",
            company=" Acme  Trading ",
            phone="+65 6123-4567",
            timezone="Europe/London",
            follow_ups=None,  # unticked
            product_news=None,
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == PROFILE
    owner.refresh_from_db()
    assert owner.name == "Alice Tan Mei Ling"
    assert owner.company == "Acme Trading"
    assert owner.phone == "+65 6123 4567"
    assert owner.timezone == "Europe/London"
    assert owner.email_preferences == {"trial": True, "follow_ups": False, "product_news": False}
    assert not owner.wants_email("product_news")
    [event] = _events("account.profile_updated", owner)
    assert set(event.data["fields"]) == {
        "name",
        "company",
        "phone",
        "timezone",
        "email_preferences",
    }
    assert event.data["host"] == "acme.localhost"
    assert _events("account.profile_updated", owner, schema="acme") == []
    assert b"Your details are saved." in client.get(PROFILE).content


def test_saving_without_changes_records_nothing(owner):
    owner.phone = "+65 9123 4567"
    owner.company = "Acme Trading"
    owner.save()
    client = client_for(None, owner)
    assert client.post(PROFILE, _valid_profile()).status_code == 302
    assert _events("account.profile_updated", owner) == []
    assert b"Nothing changed." in client.get(PROFILE).content


def test_other_kinds_of_email_preference_are_kept(owner):
    owner.email_preferences = {"invoices": False}
    owner.save()
    client_for(None, owner).post(PROFILE, _valid_profile(trial=None))
    owner.refresh_from_db()
    assert owner.email_preferences == {
        "invoices": False,
        "trial": False,
        "follow_ups": True,
        "product_news": True,
    }


@pytest.mark.parametrize(
    ("phone", "stored"),
    [
        ("91234567", "+65 9123 4567"),
        ("6123 4567", "+65 6123 4567"),
        ("+6581234567", "+65 8123 4567"),
        ("(+44) 20 7946 0958", "+442079460958"),
        ("", ""),
    ],
)
def test_phone_numbers_are_stored_one_way(owner, phone, stored):
    client_for(None, owner).post(PROFILE, _valid_profile(phone=phone))
    owner.refresh_from_db()
    assert owner.phone == stored


def test_garbage_gives_field_errors_and_keeps_what_was_typed(owner):
    response = client_for(None, owner).post(
        PROFILE,
        {
            "name": "   ",
            "company": "x" * 300,
            "phone": "call me maybe",
            "timezone": "Mars/Olympus_Mons",
            "trial": "<script>",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"name", "company", "phone", "timezone"}
    assert "Tell us your name" in form.errors["name"][0]
    assert "Use only digits" in form.errors["phone"][0]
    page = response.content.decode()
    assert 'value="call me maybe"' in page
    assert 'aria-invalid="true"' in page
    owner.refresh_from_db()
    assert owner.name == "Alice Tan"
    assert _events("account.profile_updated", owner) == []


@pytest.mark.parametrize(
    ("phone", "problem"),
    [
        ("1234 5678", "starts with 3, 6, 8 or 9"),
        ("9123 456", "8 digits"),
        ("+1 23", "8 to 15 digits"),
        ("+65 1234 5678", "starts with 3, 6, 8 or 9"),
    ],
)
def test_impossible_phone_numbers_say_how_to_fix_them(owner, phone, problem):
    response = client_for(None, owner).post(PROFILE, _valid_profile(phone=phone))
    assert response.status_code == 200
    assert problem in response.context["form"].errors["phone"][0]


def test_an_empty_post_is_a_form_with_errors_not_a_crash(owner):
    response = client_for(None, owner).post(PROFILE, {})
    assert response.status_code == 200
    assert "name" in response.context["form"].errors


@pytest.mark.usefixtures("acme_requires_two_factor")
def test_the_account_page_says_when_the_organisation_requires_two_factor(acme, member):
    response = client_for(acme, member).get(PROFILE)
    assert response.status_code == 200  # not held back: it links to the set-up page
    assert b"requires two-factor authentication" in response.content
    assert b'href="/accounts/2fa/totp/activate/"' in response.content
    assert b"requires two-factor" not in client_for(None, member).get(PROFILE).content


# ---- Changing the password -------------------------------------------------------------------


@pytest.mark.parametrize("on_tenant_host", [False, True])
def test_the_password_page_is_in_our_layout(acme, owner, on_tenant_host):
    response = client_for(acme if on_tenant_host else None, owner).get("/accounts/password/change/")
    assert response.status_code == 200
    assert b"Change your password" in response.content
    assert b'href="/accounts/profile/"' in response.content
    layout_mark = b'id="sidebar"' if on_tenant_host else b"Your organisations"
    assert layout_mark in response.content


def test_a_wrong_current_password_is_a_field_error(owner):
    response = client_for(None, owner).post(
        "/accounts/password/change/",
        {"oldpassword": "not-my-password", "password1": "a-new-secret-2026", "password2": "x"},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "oldpassword" in form.errors
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)
    assert _events("account.password_changed", owner) == []


def test_changing_the_password_is_recorded_in_the_public_log(acme, owner):
    client = client_for(acme, owner)
    response = client.post(
        "/accounts/password/change/",
        {
            "oldpassword": PASSWORD,
            "password1": "a-new-secret-2026",
            "password2": "a-new-secret-2026",
        },
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("a-new-secret-2026")
    [event] = _events("account.password_changed", owner)
    assert event.data == {"how": "changed", "host": "acme.localhost"}
    assert _events("account.password_changed", owner, schema="acme") == []
    assert client.get(PROFILE).status_code == 200  # still signed in here


def test_changing_the_password_signs_out_the_other_hosts(acme, owner):
    public = client_for(None, owner)
    assert public.get("/accounts/organisations/").status_code == 200
    client_for(acme, owner).post(
        "/accounts/password/change/",
        {
            "oldpassword": PASSWORD,
            "password1": "a-new-secret-2026",
            "password2": "a-new-secret-2026",
        },
    )
    assert public.get("/accounts/organisations/").status_code == 302


def test_a_password_reset_is_recorded_as_a_change(owner, mailoutbox):
    client = client_for(None)
    client.post("/accounts/password/reset/", {"email": owner.email})
    link = re.search(r"http://localhost(/accounts/password/reset/key/\S+/)", mailoutbox[-1].body)
    # allauth moves the key from the address into the session, then shows the form.
    form_page = client.get(link.group(1), follow=True)
    [(form_path, _status)] = form_page.redirect_chain
    response = client.post(
        form_path, {"password1": "a-new-secret-2026", "password2": "a-new-secret-2026"}
    )
    assert response.status_code == 302
    [event] = _events("account.password_changed", owner)
    assert event.data == {"how": "reset", "host": "localhost"}


# ---- Changing the email address --------------------------------------------------------------


@pytest.mark.parametrize("on_tenant_host", [False, True])
def test_the_email_page_is_in_our_layout(acme, owner, on_tenant_host):
    response = client_for(acme if on_tenant_host else None, owner).get("/accounts/email/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Email addresses" in page
    assert owner.email in page
    assert "confirm it from the email we send there" in page


def _confirmation_path(mail) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^/\s]+/)", mail.body).group(1)


@pytest.mark.parametrize("on_tenant_host", [False, True])
def test_a_new_address_must_be_confirmed_before_it_becomes_the_sign_in_address(
    acme, owner, mailoutbox, on_tenant_host
):
    client = client_for(acme if on_tenant_host else None, owner)
    host = "acme.localhost" if on_tenant_host else "localhost"
    new = "alice@acme-trading.test"

    response = client.post("/accounts/email/", {"action_add": "", "email": new})
    assert response.status_code == 302
    added = EmailAddress.objects.get(email=new)
    assert not added.verified
    assert [event.data["email"] for event in _events("account.email_added", owner)] == [new]
    assert mailoutbox[-1].to == [new]

    # Unconfirmed, it cannot become primary: the sign-in address stays the old one.
    client.post("/accounts/email/", {"action_primary": "", "email": new})
    owner.refresh_from_db()
    assert owner.email == "owner@acme.test"
    assert _events("account.email_changed", owner) == []

    # The link in the email, opened on the host it was sent from, confirms it.
    assert f"http://{host}/accounts/confirm-email/" in mailoutbox[-1].body
    assert client.post(_confirmation_path(mailoutbox[-1])).status_code == 302
    added.refresh_from_db()
    assert added.verified

    client.post("/accounts/email/", {"action_primary": "", "email": new})
    owner.refresh_from_db()
    assert owner.email == new
    [event] = _events("account.email_changed", owner)
    assert event.data == {"old": "owner@acme.test", "new": new, "host": host}
    assert _events("account.email_changed", owner, schema="acme") == []


def test_an_address_that_is_not_an_address_is_a_field_error(owner):
    response = client_for(None, owner).post(
        "/accounts/email/", {"action_add": "", "email": "not an address"}
    )
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert b'value="not an address"' in response.content


def test_someone_elses_address_never_becomes_mine(owner, member, mailoutbox):
    client = client_for(None, owner)
    response = client.post("/accounts/email/", {"action_add": "", "email": member.email})
    # allauth answers as if it worked, so the page does not reveal who has an account here; the
    # confirmation goes to the address's owner, who will not confirm it.
    assert response.status_code == 302
    assert mailoutbox[-1].to == [member.email]
    client.post("/accounts/email/", {"action_primary": "", "email": member.email})
    owner.refresh_from_db()
    assert owner.email == "owner@acme.test"
    assert not EmailAddress.objects.filter(user=owner, email=member.email, verified=True).exists()
    assert _events("account.email_changed", owner) == []


@pytest.mark.parametrize("allow_unverified", [False, True])
def test_with_two_factor_on_adding_an_address_follows_mfa_allow_unverified_email(
    owner, settings, allow_unverified
):
    """allauth refuses new, unconfirmed addresses on accounts with two-factor unless
    MFA_ALLOW_UNVERIFIED_EMAIL is set; either way the page answers, and nothing unconfirmed
    becomes the sign-in address."""
    settings.MFA_ALLOW_UNVERIFIED_EMAIL = allow_unverified
    give_authenticator(owner)
    new = "alice@acme-trading.test"
    response = client_for(None, owner).post("/accounts/email/", {"action_add": "", "email": new})
    if allow_unverified:
        assert response.status_code == 302
        assert not EmailAddress.objects.get(email=new).verified
    else:
        assert response.status_code == 200
        assert "two-factor" in response.context["form"].errors["email"][0]
        assert not EmailAddress.objects.filter(email=new).exists()
    owner.refresh_from_db()
    assert owner.email == "owner@acme.test"

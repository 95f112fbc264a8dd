"""Limits count one person or one address across every host, behind our proxies too; an
organisation's host signs in its members only and tells a stranger nothing about a password."""

import pytest
from django.core import mail
from django.test import RequestFactory

from nexuscore.lib.ratelimit import RateLimit, client_address
from tests.conftest import PASSWORD, client_for
from tests.fixtures_privacy import ANN

WRONG = "not-the-password"


def sign_in(tenant, email, password, **extra):
    return client_for(tenant).post(
        "/accounts/login/", {"login": email, "password": password}, **extra
    )


def signed_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def refused(response) -> bool:
    """allauth answers a sign-in over its limits with the form and this error (not a 429)."""
    return response.status_code == 200 and b"Too many failed login attempts" in response.content


# --- The client's address --------------------------------------------------------------------


def _request(remote="192.0.2.10", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_proxies_the_address_is_the_connection_and_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(_request(forwarded="203.0.113.5")) == "192.0.2.10"


def test_behind_one_proxy_the_address_is_the_one_the_proxy_saw(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(_request(forwarded="203.0.113.5")) == "203.0.113.5"
    # Whatever a client writes into the header itself stands further left and is not believed.
    assert client_address(_request(forwarded="6.6.6.6, 203.0.113.5")) == "203.0.113.5"


def test_behind_two_proxies_the_address_is_counted_from_the_right(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    forwarded = "6.6.6.6, 203.0.113.5, 10.0.0.2"
    assert client_address(_request(forwarded=forwarded)) == "203.0.113.5"


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        (None, "192.0.2.10"),  # straight to the web process (a health check)
        ("", "192.0.2.10"),
        ("not-an-address", "192.0.2.10"),
        ("203.0.113.5:52100", "203.0.113.5"),
        ("[2001:db8::7]:443", "2001:db8::7"),
    ],
)
def test_a_missing_or_odd_header_falls_back_to_the_connection(settings, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(_request(forwarded=forwarded)) == expected


def test_an_ipv6_subscriber_counts_as_one_whole_slash_64(db):
    limit = RateLimit("test", limit=1, window=60)
    assert limit.attempt(ip="2001:db8:1:2::1")
    assert not limit.attempt(ip="2001:db8:1:2:ffff::9")
    assert limit.attempt(ip="2001:db8:1:3::1")


# --- Behind a proxy, visitors are told apart ----------------------------------------------------


def _capture(acme, visitor, number):
    data = {
        "name": "Tan Wei Ling",
        "email": f"visitor{number}@lioncity.sg",
        "message": "Please call me",
        "consent": "on",
        "submission_key": f"key-{visitor}-{number:04d}",
    }
    return client_for(acme).post(
        "/f/contact/", data, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=visitor
    )


def test_behind_a_load_balancer_each_visitor_has_a_limit_of_their_own(acme, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for number in range(5):
        assert _capture(acme, "203.0.113.5", number).status_code == 302
    assert _capture(acme, "203.0.113.5", 99).status_code == 429
    assert _capture(acme, "198.51.100.7", 1).status_code == 302


def test_without_a_trusted_proxy_a_forged_header_does_not_escape_the_limit(acme, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for number in range(5):
        assert _capture(acme, f"203.0.113.{number}", number).status_code == 302
    assert _capture(acme, "198.51.100.7", 99).status_code == 429


def test_allauth_counts_by_the_same_address(db, owner, settings):
    """allauth's sign-in limit per address (10 a minute) reads our client_address()."""
    settings.TRUSTED_PROXY_COUNT = 1
    for number in range(10):
        email = f"nobody{number}@example.test"
        assert not refused(sign_in(None, email, WRONG, HTTP_X_FORWARDED_FOR="203.0.113.5"))
    assert refused(sign_in(None, "x@example.test", WRONG, HTTP_X_FORWARDED_FOR="203.0.113.5"))
    other = sign_in(None, owner.email, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert signed_in(other)


# --- Limits per account and per address hold across hosts ----------------------------------


def test_failed_sign_ins_for_one_account_count_across_every_host(acme, globex, admin):
    hosts = [None, acme, globex]
    attempts = [refused(sign_in(hosts[n % 3], admin.email, WRONG)) for n in range(5)]
    assert attempts == [False] * 5
    # The sixth try, on any host, is refused: even with the right password.
    for tenant in hosts:
        assert refused(sign_in(tenant, admin.email, WRONG))
    assert refused(sign_in(acme, admin.email, PASSWORD))


def test_password_reset_emails_for_one_address_are_limited_across_hosts(acme, globex, owner):
    sent_before = len(mail.outbox)
    for number in range(9):
        tenant = [None, acme, globex][number % 3]
        client_for(tenant).post("/accounts/password/reset/", {"email": owner.email})
    assert len(mail.outbox) - sent_before == 5


def test_privacy_request_emails_for_one_address_are_limited_across_hosts(acme, globex):
    def post(tenant, number):
        data = {"email": ANN, "request_type": "access"}
        return client_for(tenant).post(
            "/privacy/request/", data, REMOTE_ADDR=f"198.51.100.{number}"
        )

    statuses = [post([acme, globex, None][n % 3], n).status_code for n in range(6)]
    assert statuses == [302] * 5 + [429]
    assert len(mail.outbox) == 5


def test_the_limits_are_kept_in_one_namespace_whatever_the_host(acme, globex):
    limit = RateLimit("test", limit=1, window=60)
    from django_tenants.utils import schema_context

    with schema_context("acme"):
        assert limit.attempt(email="ann@example.test")
    with schema_context("globex"):
        assert not limit.attempt(email="ANN@example.test ")


def test_a_limit_within_one_organisation_leaves_the_others_alone(db):
    limit = RateLimit("test", limit=1, window=60)
    assert limit.attempt(within="acme", ip="203.0.113.5")
    assert not limit.attempt(within="acme", ip="203.0.113.5")
    assert limit.attempt(within="globex", ip="203.0.113.5")


# --- An organisation's host signs in its members only --------------------------------------


def test_a_member_signs_in_on_their_organisations_host(acme, member):
    assert signed_in(sign_in(acme, member.email, PASSWORD))


def test_a_stranger_with_the_right_password_is_answered_as_a_wrong_one(globex, member):
    """member@acme.test has no membership in globex: its host must not confirm the password."""
    right = sign_in(globex, member.email, PASSWORD)
    wrong = sign_in(globex, member.email, WRONG)
    assert not signed_in(right)
    assert right.status_code == wrong.status_code == 200
    assert right.context["form"].errors == wrong.context["form"].errors


def test_a_strangers_right_password_counts_as_a_failed_attempt(acme, globex, member):
    for _ in range(5):
        sign_in(globex, member.email, PASSWORD)
    assert refused(sign_in(acme, member.email, PASSWORD))


def test_the_public_host_still_signs_everyone_in(db, member, staff):
    assert signed_in(sign_in(None, member.email, PASSWORD))
    assert signed_in(sign_in(None, staff.email, PASSWORD))

"""Invitation links on the public host: what each person sees, accepting, and the dead ends."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.models import EmailAddress
from django_tenants.utils import schema_context

from nexuscore.accounts.models import User
from nexuscore.audit.models import Event
from nexuscore.team import actions as team
from tenants.models import Invitation, Membership, Tenant
from tests.conftest import client_for
from tests.cross_host import Browser

PASSWORD = "a-long-password-123"


def membership(tenant, user) -> Membership:
    return Membership.objects.get(tenant=tenant, user=user)


@pytest.fixture
def invited(acme, owner, mailoutbox):
    """An invitation from Acme's owner to newcomer@example.com as a member, and its token."""
    invitation = team.invite_member(
        membership(acme, owner), email="newcomer@example.com", role="member"
    )
    token = re.search(r"/invitations/([\w-]+)/", mailoutbox[-1].body).group(1)
    return invitation, token


@pytest.fixture
def newcomer(db):
    """Someone with an account (and a verified address) who belongs to no organisation."""
    person = User.objects.create_user("Newcomer@Example.com", PASSWORD, "Nina Newcomer")
    EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    return person


def test_without_a_request_the_link_uses_the_site_url(invited, mailoutbox, settings):
    _, token = invited
    assert f"{settings.SITE_URL}/invitations/{token}/" in mailoutbox[0].body
    assert "Acme Trading Pte. Ltd." in mailoutbox[0].body
    assert "Alice Tan" in mailoutbox[0].body


def test_anonymous_sees_who_invites_them_where_and_how_to_accept(invited):
    _, token = invited
    response = client_for(None).get(f"/invitations/{token}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Acme Trading Pte. Ltd." in body
    assert "Alice Tan" in body
    assert "Member" in body
    assert "newcomer@example.com" in body
    assert "Sign in to accept" in body
    assert f"/accounts/login/?next=%2Finvitations%2F{token}%2F" in body
    signup = re.search(r'href="(/accounts/signup/\?[^"]+)"', body).group(1).replace("&amp;", "&")
    query = parse_qs(urlsplit(signup).query)
    assert query == {"next": [f"/invitations/{token}/"], "email": ["newcomer@example.com"]}


def test_the_invitation_page_is_only_on_the_public_host(acme, invited):
    _, token = invited
    assert client_for(acme).get(f"/invitations/{token}/").status_code == 404


def test_accepting_as_an_existing_user(acme, owner, invited, newcomer):
    invitation, token = invited
    client = client_for(None, newcomer)
    page = client.get(f"/invitations/{token}/")
    assert page.status_code == 200
    assert b"Accept and open" in page.content

    response = client.post(f"/invitations/{token}/accept/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/organisations/acme/open/"
    joined = membership(acme, newcomer)
    assert joined.role == "member"
    assert joined.invited_by == owner
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert invitation.accepted_by == newcomer
    with schema_context("acme"):
        event = Event.objects.get(event_type="invitation.accepted")
    assert event.actor_id == newcomer.pk
    assert event.data == {"email": "newcomer@example.com", "role": "member"}

    # The hand-over then takes them to Acme's host, signed in.
    browser = Browser(client)
    assert browser.get(f"http://localhost{response['Location']}").status_code == 200
    assert browser.visited[-1] == "http://acme.localhost/"


def test_accepting_as_a_new_user_after_signing_up(acme, invited, mailoutbox):
    _, token = invited
    client = client_for(None)
    page = client.get(f"/invitations/{token}/").content.decode()
    signup_url = (
        re.search(r'href="(/accounts/signup/\?[^"]+)"', page).group(1).replace("&amp;", "&")
    )

    form = client.get(signup_url)
    assert b'value="newcomer@example.com"' in form.content  # allauth fills in ?email=

    response = client.post(
        signup_url,
        {
            "email": "newcomer@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "name": "Nina Newcomer",
            "next": f"/invitations/{token}/",
        },
    )
    assert response.status_code == 302
    confirmation = mailoutbox[-1]
    assert confirmation.to == ["newcomer@example.com"]
    confirm_path = urlsplit(
        re.search(r"https?://\S+/accounts/confirm-email/\S+/", confirmation.body).group(0)
    ).path
    response = client.post(confirm_path)
    assert response.status_code == 302
    assert response["Location"] == f"/invitations/{token}/"  # back to the invitation

    assert b"Accept and open" in client.get(f"/invitations/{token}/").content
    response = client.post(f"/invitations/{token}/accept/")
    assert response["Location"] == "/accounts/organisations/acme/open/"
    person = User.objects.get(email="newcomer@example.com")
    assert membership(acme, person).role == "member"


def test_signing_in_from_the_invitation_comes_back_to_it(invited, newcomer):
    _, token = invited
    client = client_for(None)
    response = client.post(
        f"/accounts/login/?next=/invitations/{token}/",
        {"login": "newcomer@example.com", "password": PASSWORD, "next": f"/invitations/{token}/"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/invitations/{token}/"


def test_a_different_account_is_told_and_offered_to_sign_out(acme, invited, outsider):
    _, token = invited
    client = client_for(None, outsider)
    page = client.get(f"/invitations/{token}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "This invitation is for" in body
    assert "newcomer@example.com" in body and "owner@globex.test" in body
    assert 'action="/accounts/logout/"' in body
    assert f'name="next" value="/invitations/{token}/"' in body
    assert "Accept and open" not in body


def test_a_different_account_cannot_accept(acme, globex, outsider, invited):
    invitation, token = invited
    response = client_for(None, outsider).post(f"/invitations/{token}/accept/")
    assert response.status_code == 403
    assert (
        b"This invitation is for newcomer@example.com; you are signed in as owner@globex.test"
        in response.content
    )
    assert not Membership.objects.filter(tenant=acme, user=outsider).exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_a_verified_second_address_counts_as_the_invited_one(acme, invited, outsider):
    _, token = invited
    EmailAddress.objects.create(user=outsider, email="newcomer@example.com", verified=True)
    assert client_for(None, outsider).post(f"/invitations/{token}/accept/").status_code == 302
    assert membership(acme, outsider).role == "member"


def test_an_unverified_second_address_does_not(acme, invited, outsider):
    _, token = invited
    EmailAddress.objects.create(user=outsider, email="newcomer@example.com", verified=False)
    assert client_for(None, outsider).post(f"/invitations/{token}/accept/").status_code == 403


def test_anonymous_accept_goes_to_sign_in(invited):
    invitation, token = invited
    response = client_for(None).post(f"/invitations/{token}/accept/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/invitations/{token}/"
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_accept_is_post_only(invited, newcomer):
    _, token = invited
    client = client_for(None, newcomer)
    assert client.get(f"/invitations/{token}/accept/").status_code == 405
    assert client.post(f"/invitations/{token}/").status_code == 405


def test_someone_already_a_member_just_opens_the_organisation(acme, invited, member):
    invitation, token = invited
    client = client_for(None, member)
    response = client.get(f"/invitations/{token}/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/organisations/acme/open/"
    response = client.post(f"/invitations/{token}/accept/")
    assert response["Location"] == "/accounts/organisations/acme/open/"
    assert membership(acme, member).role == "member"  # unchanged
    invitation.refresh_from_db()
    assert invitation.accepted_at is None  # still there for the person it was meant for


def test_accepting_when_already_a_member_keeps_the_role_and_uses_up_the_invitation(
    acme, invited, newcomer
):
    invitation, token = invited
    Membership.objects.create(tenant=acme, user=newcomer, role="viewer")
    assert team.accept_invitation(token, newcomer).role == "viewer"
    invitation.refresh_from_db()
    assert invitation.accepted_by == newcomer


def test_accepting_twice_the_second_time_opens_the_organisation(acme, invited, newcomer):
    _, token = invited
    client = client_for(None, newcomer)
    client.post(f"/invitations/{token}/accept/")
    response = client.get(f"/invitations/{token}/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/organisations/acme/open/"


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"expires_at": "created"}, 410, b"This invitation has expired"),
        ({"revoked_at": "now"}, 410, b"This invitation was withdrawn"),
        ({"accepted_at": "now"}, 410, b"already been used"),
    ],
)
def test_dead_invitations_get_a_friendly_page(invited, newcomer, change, status, words):
    from django.utils import timezone

    invitation, token = invited
    field, value = next(iter(change.items()))
    value = invitation.created_at if value == "created" else timezone.now()
    Invitation.objects.filter(pk=invitation.pk).update(**{field: value})
    for client in (client_for(None), client_for(None, newcomer)):
        response = client.get(f"/invitations/{token}/")
        assert response.status_code == status
        assert words in response.content
    response = client_for(None, newcomer).post(f"/invitations/{token}/accept/")
    assert response.status_code == status
    assert not Membership.objects.filter(user=newcomer).exists()


def test_an_expired_invitation_names_who_can_resend_it(invited):
    invitation, token = invited
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=invitation.created_at)
    response = client_for(None).get(f"/invitations/{token}/")
    assert b"Ask Alice Tan to send it again." in response.content


@pytest.mark.parametrize("token", ["unknown-token", "x" * 43, "a" * 500, "%00", "..%2F..", "€uro"])
def test_unknown_tokens_are_a_404_never_a_500(db, token, newcomer):
    for client in (client_for(None), client_for(None, newcomer)):
        response = client.get(f"/invitations/{token}/")
        assert response.status_code == 404
    response = client_for(None, newcomer).post(f"/invitations/{token}/accept/")
    assert response.status_code == 404


def test_a_closed_organisations_invitation_is_gone(acme, invited, newcomer):
    _, token = invited
    Tenant.objects.filter(pk=acme.pk).update(status=Tenant.Status.CLOSED)
    assert client_for(None, newcomer).get(f"/invitations/{token}/").status_code == 410
    assert client_for(None, newcomer).post(f"/invitations/{token}/accept/").status_code == 410
    assert not Membership.objects.filter(user=newcomer).exists()


def test_seats_are_checked_again_when_accepting(globex, outsider, mailoutbox, newcomer):
    by = membership(globex, outsider)
    team.invite_member(by, email="newcomer@example.com", role="member")
    token = re.search(r"/invitations/([\w-]+)/", mailoutbox[-1].body).group(1)
    team.invite_member(by, email="other@example.com", role="member")
    # Meanwhile someone joined by another way: the starter plan's 3 seats are full.
    extra = User.objects.create_user("extra@example.com", PASSWORD, "Extra")
    Membership.objects.create(tenant=globex, user=extra, role="viewer")

    response = client_for(None, newcomer).post(f"/invitations/{token}/accept/")
    assert response.status_code == 409
    assert b"no free seat" in response.content
    assert not Membership.objects.filter(tenant=globex, user=newcomer).exists()

    # Once a seat is free (the other invitation revoked), the same link works.
    team.revoke_invitation(by, Invitation.objects.get(email="other@example.com"))
    response = client_for(None, newcomer).post(f"/invitations/{token}/accept/")
    assert response.status_code == 302
    assert Membership.objects.get(tenant=globex, user=newcomer).role == "member"


def test_the_invitation_being_accepted_holds_its_own_seat(globex, outsider, mailoutbox, newcomer):
    by = membership(globex, outsider)
    team.invite_member(by, email="a@example.com", role="member")
    team.invite_member(by, email="newcomer@example.com", role="viewer")
    token = re.search(r"/invitations/([\w-]+)/", mailoutbox[-1].body).group(1)
    assert team.seats_left(globex) == 0
    response = client_for(None, newcomer).post(f"/invitations/{token}/accept/")
    assert response.status_code == 302
    assert Membership.objects.get(tenant=globex, user=newcomer).role == "viewer"

"""The team page (/team/) and its actions: who sees what, who may change whom, seats and
ownership. Invitations as seen from the public host are in test_invitations.py."""

import re
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import schema_context

from nexuscore.accounts.models import User
from nexuscore.audit.models import Event
from nexuscore.billing.models import Subscription
from nexuscore.team import actions as team
from tenants.middleware import forget_hosts
from tenants.models import Invitation, Membership, Tenant
from tests.conftest import client_for

HTMX = {"HX-Request": "true"}


def events_of(tenant, event_type):
    with schema_context(tenant.schema_name):
        return list(Event.objects.filter(event_type=event_type).order_by("created_at"))


def membership(tenant, user) -> Membership:
    return Membership.objects.get(tenant=tenant, user=user)


def role_of(tenant, user) -> str | None:
    found = Membership.objects.filter(tenant=tenant, user=user).first()
    return found.role if found else None


def invite(tenant, by_user, email, role="member") -> Invitation:
    return team.invite_member(membership(tenant, by_user), email=email, role=role)


def new_person(email, name="New Person") -> User:
    return User.objects.create_user(email, "a-long-password-123", name)


@pytest.fixture
def second_admin(acme, owner):
    person = new_person("second-admin@acme.test", "Second Admin")
    Membership.objects.create(tenant=acme, user=person, role="admin", invited_by=owner)
    return person


# ---------------------------------------------------------------------------------------------
# The page


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer"])
def test_every_member_sees_everyone_with_role_and_joining_date(request, acme, role):
    response = client_for(acme, request.getfixturevalue(role)).get("/team/")
    assert response.status_code == 200
    for email in ("owner@acme.test", "admin@acme.test", "member@acme.test", "viewer@acme.test"):
        assert email.encode() in response.content
    for role_label in (b"Owner", b"Administrator", b"Member", b"Viewer"):
        assert role_label in response.content
    joined = membership(acme, request.getfixturevalue(role)).joined_at
    # The date as the organisation reads it (Singapore is 8 hours ahead of the UTC stored).
    joined = joined.astimezone(ZoneInfo(acme.timezone))
    assert f"{joined:%Y-%m-%d}".encode() in response.content  # in the <time datetime>


@pytest.mark.parametrize(
    ("role", "sees"), [("owner", True), ("admin", True), ("member", False), ("viewer", False)]
)
def test_pending_invitations_and_their_actions_only_for_owner_and_admin(
    request, acme, owner, role, sees
):
    invitation = invite(acme, owner, "pending@example.com")
    content = client_for(acme, request.getfixturevalue(role)).get("/team/").content
    assert (b"pending@example.com" in content) is sees
    assert (f"/team/invitations/{invitation.pk}/revoke/".encode() in content) is sees
    assert (b"Send invitation" in content) is sees


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_get_no_role_or_remove_controls(request, acme, role):
    content = client_for(acme, request.getfixturevalue(role)).get("/team/").content
    assert b"/role/" not in content
    assert b"/remove/" not in content
    assert b"Leave organisation" in content


def test_the_owner_gets_controls_for_everyone_else_but_not_for_themselves(acme, owner, admin):
    content = client_for(acme, owner).get("/team/").content
    assert f"/team/members/{membership(acme, admin).pk}/role/".encode() in content
    assert f"/team/members/{membership(acme, owner).pk}/role/".encode() not in content
    assert f"/team/members/{membership(acme, owner).pk}/remove/".encode() not in content
    assert b"Transfer ownership" in content
    assert b"Leave organisation" not in content  # the only owner


def test_an_admin_gets_no_controls_for_the_owner(acme, admin, owner):
    content = client_for(acme, admin).get("/team/").content
    owner_id = membership(acme, owner).pk
    assert f"/team/members/{owner_id}/role/".encode() not in content
    assert f"/team/members/{owner_id}/remove/".encode() not in content
    assert b"Transfer ownership" not in content


def test_team_page_anonymous_and_outsider(acme, outsider):
    response = client_for(acme).get("/team/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/team/")
    assert client_for(acme, outsider).get("/team/").status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/team/"),
        ("get", "/team/invitations/"),
        ("get", "/team/members/00000000-0000-0000-0000-000000000000/role/"),
        ("get", "/team/invitations/00000000-0000-0000-0000-000000000000/resend/"),
        ("put", "/team/invitations/00000000-0000-0000-0000-000000000000/revoke/"),
        ("put", "/team/members/00000000-0000-0000-0000-000000000000/remove/"),
        ("put", "/team/leave/"),
        ("put", "/team/transfer/"),
    ],
)
def test_wrong_method_is_405(acme, owner, method, path):
    assert getattr(client_for(acme, owner), method)(path).status_code == 405


# ---------------------------------------------------------------------------------------------
# Inviting


def test_owner_invites_and_the_email_carries_a_public_link(acme, owner, mailoutbox):
    client = client_for(acme, owner)
    response = client.post("/team/invitations/", {"email": " New@Example.com ", "role": "member"})
    assert response.status_code == 302
    assert response["Location"] == "/team/"

    invitation = Invitation.objects.get(tenant=acme, email="new@example.com")
    assert invitation.role == "member"
    assert invitation.invited_by == owner
    assert invitation.expires_at > invitation.created_at
    assert (invitation.expires_at - invitation.sent_at).days == 7

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["new@example.com"]
    assert acme.name in mail.subject
    token = re.search(r"http://localhost/invitations/([\w-]+)/", mail.body).group(1)
    assert team.hash_token(token) == invitation.token_hash
    assert token not in invitation.token_hash
    html = mail.alternatives[0].content
    assert f"http://localhost/invitations/{token}/" in html

    [event] = events_of(acme, "invitation.created")
    assert event.actor_id == owner.pk
    assert event.data == {"email": "new@example.com", "role": "member"}
    assert token not in str(event.data)

    page = client.get("/team/")
    assert b"new@example.com" in page.content
    assert b"Invitation sent to new@example.com" in page.content  # the toast


def test_owner_may_invite_an_administrator(acme, owner, mailoutbox):
    client = client_for(acme, owner)
    client.post("/team/invitations/", {"email": "boss@example.com", "role": "admin"})
    assert Invitation.objects.get(email="boss@example.com").role == "admin"


def test_an_administrator_invites_members_but_not_administrators(acme, admin, mailoutbox):
    client = client_for(acme, admin)
    response = client.post("/team/invitations/", {"email": "boss@example.com", "role": "admin"})
    assert response.status_code == 200
    assert b"Choose one of the roles in the list." in response.content
    assert b'value="boss@example.com"' in response.content  # what was typed is kept
    assert not Invitation.objects.filter(email="boss@example.com").exists()
    assert mailoutbox == []

    client.post("/team/invitations/", {"email": "helper@example.com", "role": "viewer"})
    assert Invitation.objects.get(email="helper@example.com").role == "viewer"


def test_the_named_function_also_refuses_an_admin_inviting_an_admin(acme, admin):
    with pytest.raises(team.TeamError, match="Only an owner can invite an administrator"):
        invite(acme, admin, "boss@example.com", role="admin")


def test_nobody_invites_an_owner(acme, owner):
    response = client_for(acme, owner).post(
        "/team/invitations/", {"email": "co-owner@example.com", "role": "owner"}
    )
    assert response.status_code == 200
    assert b"Choose one of the roles in the list." in response.content
    assert not Invitation.objects.filter(email="co-owner@example.com").exists()
    with pytest.raises(team.TeamError, match="ownership is transferred"):
        invite(acme, owner, "co-owner@example.com", role="owner")


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_cannot_invite(request, acme, role, mailoutbox):
    response = client_for(acme, request.getfixturevalue(role)).post(
        "/team/invitations/", {"email": "friend@example.com", "role": "viewer"}
    )
    assert response.status_code == 403
    assert not Invitation.objects.filter(email="friend@example.com").exists()
    assert mailoutbox == []


def test_an_outsider_cannot_invite(acme, outsider):
    response = client_for(acme, outsider).post(
        "/team/invitations/", {"email": "friend@example.com", "role": "viewer"}
    )
    assert response.status_code == 403
    assert not Invitation.objects.filter(email="friend@example.com").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-email", "role": "member"}, b"Enter a whole email address"),
        ({"email": "", "role": "member"}, b"Enter the email address of the person to invite."),
        ({"email": "x@example.com", "role": "emperor"}, b"Choose one of the roles in the list."),
        ({"email": "x" * 300 + "@example.com", "role": "member"}, b"at most 254 characters"),
        ({}, b"Enter the email address of the person to invite."),
    ],
)
def test_garbage_gives_field_errors_and_keeps_the_input(acme, owner, data, message):
    response = client_for(acme, owner).post("/team/invitations/", data)
    assert response.status_code == 200
    assert message in response.content
    if data.get("email"):
        assert f'value="{data["email"]}"'.encode() in response.content
    assert not Invitation.objects.filter(tenant=acme).exists()


def test_inviting_a_member_or_a_pending_address_again_is_refused(acme, owner, member):
    client = client_for(acme, owner)
    response = client.post("/team/invitations/", {"email": "MEMBER@acme.test", "role": "viewer"})
    assert b"member@acme.test is already a member" in response.content
    invite(acme, owner, "twice@example.com")
    response = client.post("/team/invitations/", {"email": "twice@example.com", "role": "viewer"})
    assert b"already has a pending invitation" in response.content
    assert Invitation.objects.filter(email="twice@example.com").count() == 1


def test_an_expired_invitation_gives_way_to_a_new_one(acme, owner):
    old = invite(acme, owner, "late@example.com")
    Invitation.objects.filter(pk=old.pk).update(expires_at=old.created_at)
    new = invite(acme, owner, "late@example.com", role="viewer")
    old.refresh_from_db()
    assert old.revoked_at is not None
    assert new.role == "viewer"


def test_htmx_invite_answers_with_the_team_region_and_a_toast(acme, owner, mailoutbox):
    response = client_for(acme, owner).post(
        "/team/invitations/", {"email": "quick@example.com", "role": "member"}, headers=HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="team"')
    assert "<html" not in body
    assert "quick@example.com" in body
    assert 'hx-swap-oob="beforeend"' in body and "Invitation sent to quick@example.com" in body
    assert response["Vary"].count("HX-Request") == 1


def test_htmx_invite_with_errors_shows_them_in_the_region(acme, owner):
    response = client_for(acme, owner).post(
        "/team/invitations/", {"email": "nope", "role": "member"}, headers=HTMX
    )
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert b"Enter a whole email address" in response.content


# ---------------------------------------------------------------------------------------------
# Seats


def _cancel_subscriptions(tenant):
    Subscription.objects.filter(tenant=tenant).update(status=Subscription.Status.CANCELED)


def test_seats_count_members_and_pending_invitations(globex, outsider):
    # Globex is on the starter plan: 3 members. Its owner is the only member.
    assert team.member_limit(globex) == 3
    assert team.seats_left(globex) == 2
    team.invite_member(membership(globex, outsider), email="one@example.com", role="member")
    assert team.seats_left(globex) == 1
    expired = team.invite_member(
        membership(globex, outsider), email="two@example.com", role="member"
    )
    assert team.seats_left(globex) == 0
    Invitation.objects.filter(pk=expired.pk).update(expires_at=expired.created_at)
    assert team.seats_left(globex) == 1  # an expired invitation holds no seat


def test_no_subscription_means_no_limit(globex):
    _cancel_subscriptions(globex)
    assert team.member_limit(globex) is None
    assert team.seats_left(globex) is None


def test_the_invite_form_stops_at_the_seat_limit(globex, outsider, mailoutbox):
    client = client_for(globex, outsider)
    for email in ("one@example.com", "two@example.com"):
        assert (
            client.post("/team/invitations/", {"email": email, "role": "member"}).status_code == 302
        )
    page = client.get("/team/").content
    assert b"Your plan allows 3 members; upgrade to invite more" in page
    assert b"http://localhost/pricing/" in page
    assert b"Send invitation" not in page

    response = client.post("/team/invitations/", {"email": "three@example.com", "role": "member"})
    assert response.status_code == 200
    assert b"Your plan allows 3 members" in response.content
    assert not Invitation.objects.filter(email="three@example.com").exists()
    assert len(mailoutbox) == 2

    # Revoking an invitation frees its seat.
    team.revoke_invitation(
        membership(globex, outsider), Invitation.objects.get(email="one@example.com")
    )
    assert (
        client.post(
            "/team/invitations/", {"email": "three@example.com", "role": "member"}
        ).status_code
        == 302
    )


def test_without_a_subscription_there_is_no_seat_limit(globex, outsider):
    _cancel_subscriptions(globex)
    client = client_for(globex, outsider)
    for n in range(4):
        client.post("/team/invitations/", {"email": f"p{n}@example.com", "role": "member"})
    assert Invitation.objects.filter(tenant=globex).count() == 4
    assert b"upgrade to invite more" not in client.get("/team/").content


# ---------------------------------------------------------------------------------------------
# Resending and revoking


def _token_in(mail) -> str:
    return re.search(r"/invitations/([\w-]+)/", mail.body).group(1)


def test_resend_makes_a_new_link_and_expiry_and_the_old_link_dies(acme, owner, mailoutbox):
    invitation = invite(acme, owner, "again@example.com")
    first_token = _token_in(mailoutbox[0])
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=invitation.created_at)

    response = client_for(acme, owner).post(f"/team/invitations/{invitation.pk}/resend/")
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert team.invitation_state(invitation) == "pending"
    assert len(mailoutbox) == 2
    second_token = _token_in(mailoutbox[1])
    assert second_token != first_token
    assert invitation.token_hash == team.hash_token(second_token)
    assert team.find_invitation(first_token) is None
    public = client_for(None)
    assert public.get(f"/invitations/{first_token}/").status_code == 404
    assert public.get(f"/invitations/{second_token}/").status_code == 200
    assert [e.data["email"] for e in events_of(acme, "invitation.resent")] == ["again@example.com"]


def test_resending_an_expired_invitation_needs_a_free_seat(globex, outsider, mailoutbox):
    by = membership(globex, outsider)
    old = team.invite_member(by, email="old@example.com", role="member")
    Invitation.objects.filter(pk=old.pk).update(expires_at=old.created_at)
    team.invite_member(by, email="a@example.com", role="member")
    team.invite_member(by, email="b@example.com", role="member")
    client = client_for(globex, outsider)
    response = client.post(f"/team/invitations/{old.pk}/resend/", follow=True)
    assert b"Your plan allows 3 members" in response.content
    old.refresh_from_db()
    assert team.invitation_state(old) == "expired"
    assert len(mailoutbox) == 3


def test_revoke_asks_first_then_revokes(acme, owner, mailoutbox):
    invitation = invite(acme, owner, "gone@example.com")
    token = _token_in(mailoutbox[0])
    client = client_for(acme, owner)
    page = client.get(f"/team/invitations/{invitation.pk}/revoke/")
    assert page.status_code == 200
    assert b"Revoke the invitation to gone@example.com?" in page.content
    invitation.refresh_from_db()
    assert invitation.revoked_at is None

    response = client.post(f"/team/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    page = client.get("/team/").content
    assert f'id="invitation-{invitation.pk}"'.encode() not in page
    assert b"The invitation to gone@example.com was revoked." in page  # the toast
    assert client_for(None).get(f"/invitations/{token}/").status_code == 410
    assert len(events_of(acme, "invitation.revoked")) == 1
    # Revoked invitations are gone from the actions: a second revoke is a 404.
    assert client.post(f"/team/invitations/{invitation.pk}/revoke/").status_code == 404


def test_htmx_revoke_returns_the_region(acme, owner):
    invitation = invite(acme, owner, "gone@example.com")
    response = client_for(acme, owner).post(
        f"/team/invitations/{invitation.pk}/revoke/", headers=HTMX
    )
    assert response.status_code == 200
    assert b'<div id="team"' in response.content
    assert b"was revoked" in response.content


@pytest.mark.parametrize("role", ["member", "viewer"])
@pytest.mark.parametrize("action", ["resend", "revoke"])
def test_members_and_viewers_cannot_resend_or_revoke(request, acme, owner, role, action):
    invitation = invite(acme, owner, "keep@example.com")
    client = client_for(acme, request.getfixturevalue(role))
    assert client.post(f"/team/invitations/{invitation.pk}/{action}/").status_code == 403
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_an_admin_cannot_resend_or_revoke_an_invitation_to_be_admin(acme, owner, admin):
    invitation = invite(acme, owner, "boss@example.com", role="admin")
    client = client_for(acme, admin)
    response = client.post(f"/team/invitations/{invitation.pk}/revoke/", follow=True)
    assert b"Only an owner can resend or revoke" in response.content
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


@pytest.mark.parametrize("action", ["resend", "revoke"])
def test_another_organisations_invitation_is_a_404(acme, globex, owner, outsider, action):
    theirs = team.invite_member(membership(globex, outsider), email="g@example.com", role="member")
    client = client_for(acme, owner)
    assert client.post(f"/team/invitations/{theirs.pk}/{action}/").status_code == 404
    assert client.get(f"/team/invitations/{theirs.pk}/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_anonymous_actions_go_to_sign_in(acme, owner):
    invitation = invite(acme, owner, "keep@example.com")
    response = client_for(acme).post(f"/team/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


# ---------------------------------------------------------------------------------------------
# Roles


def test_owner_changes_a_role_and_it_is_recorded(acme, owner, member):
    target = membership(acme, member)
    response = client_for(acme, owner).post(f"/team/members/{target.pk}/role/", {"role": "viewer"})
    assert response.status_code == 302
    assert role_of(acme, member) == "viewer"
    [event] = events_of(acme, "member.role_changed")
    assert event.data == {"member": "member@acme.test", "old": "member", "new": "viewer"}
    assert event.actor_id == owner.pk


def test_owner_promotes_to_and_demotes_from_administrator(acme, owner, member, admin):
    client = client_for(acme, owner)
    client.post(f"/team/members/{membership(acme, member).pk}/role/", {"role": "admin"})
    client.post(f"/team/members/{membership(acme, admin).pk}/role/", {"role": "member"})
    assert role_of(acme, member) == "admin"
    assert role_of(acme, admin) == "member"


def test_an_admin_changes_members_and_viewers_only(
    acme, admin, member, viewer, owner, second_admin
):
    client = client_for(acme, admin)
    client.post(f"/team/members/{membership(acme, viewer).pk}/role/", {"role": "member"})
    assert role_of(acme, viewer) == "member"

    response = client.post(
        f"/team/members/{membership(acme, member).pk}/role/", {"role": "admin"}, follow=True
    )
    assert b"Only an owner can give or take away the administrator role." in response.content
    assert role_of(acme, member) == "member"

    client.post(f"/team/members/{membership(acme, second_admin).pk}/role/", {"role": "viewer"})
    assert role_of(acme, second_admin) == "admin"

    response = client.post(
        f"/team/members/{membership(acme, owner).pk}/role/", {"role": "viewer"}, follow=True
    )
    assert b"Only an owner can change an owner&#x27;s role." in response.content
    assert role_of(acme, owner) == "owner"


def test_the_last_owner_cannot_be_demoted(acme, owner):
    response = client_for(acme, owner).post(
        f"/team/members/{membership(acme, owner).pk}/role/", {"role": "admin"}, follow=True
    )
    assert b"the only owner; transfer ownership" in response.content
    assert role_of(acme, owner) == "owner"
    assert events_of(acme, "member.role_changed") == []


def test_with_two_owners_one_may_demote_the_other(acme, owner, admin):
    Membership.objects.filter(tenant=acme, user=admin).update(role="owner")
    client_for(acme, admin).post(
        f"/team/members/{membership(acme, owner).pk}/role/", {"role": "admin"}
    )
    assert role_of(acme, owner) == "admin"
    assert Tenant.objects.get(pk=acme.pk).owner == admin  # Tenant.owner follows an owner


def test_nobody_is_promoted_to_owner(acme, owner, admin):
    response = client_for(acme, owner).post(
        f"/team/members/{membership(acme, admin).pk}/role/", {"role": "owner"}, follow=True
    )
    assert response.status_code == 200
    assert role_of(acme, admin) == "admin"
    with pytest.raises(team.TeamError, match="Ownership moves by transfer"):
        team.change_role(membership(acme, owner), membership(acme, admin), role="owner")


def test_a_garbage_role_changes_nothing(acme, owner, member):
    response = client_for(acme, owner).post(
        f"/team/members/{membership(acme, member).pk}/role/", {"role": "<script>"}, follow=True
    )
    assert response.status_code == 200
    assert b"Choose administrator, member or viewer." in response.content
    assert role_of(acme, member) == "member"


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_cannot_change_roles(request, acme, role, viewer, member):
    target = membership(acme, viewer if role == "member" else member)
    old = target.role
    response = client_for(acme, request.getfixturevalue(role)).post(
        f"/team/members/{target.pk}/role/", {"role": "admin"}
    )
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.role == old


def test_another_organisations_member_is_a_404(acme, globex, owner, outsider):
    theirs = membership(globex, outsider)
    client = client_for(acme, owner)
    assert client.post(f"/team/members/{theirs.pk}/role/", {"role": "viewer"}).status_code == 404
    assert client.post(f"/team/members/{theirs.pk}/remove/").status_code == 404
    assert client.get(f"/team/members/{theirs.pk}/remove/").status_code == 404
    assert role_of(globex, outsider) == "owner"


def test_htmx_role_change_returns_the_region_with_a_toast(acme, owner, member):
    response = client_for(acme, owner).post(
        f"/team/members/{membership(acme, member).pk}/role/", {"role": "viewer"}, headers=HTMX
    )
    assert response.status_code == 200
    assert b'<div id="team"' in response.content
    assert b"Chloe Ng is now a viewer." in response.content


# ---------------------------------------------------------------------------------------------
# Removing and leaving


def test_remove_asks_first_then_removes(acme, owner, viewer):
    target = membership(acme, viewer)
    client = client_for(acme, owner)
    page = client.get(f"/team/members/{target.pk}/remove/")
    assert page.status_code == 200
    assert b"Remove Daniel Koh from" in page.content
    assert role_of(acme, viewer) == "viewer"

    response = client.post(f"/team/members/{target.pk}/remove/")
    assert response.status_code == 302
    assert role_of(acme, viewer) is None
    [event] = events_of(acme, "member.removed")
    assert event.data == {"member": "viewer@acme.test", "role": "viewer"}
    # They have lost access at once.
    assert client_for(acme, viewer).get("/").status_code == 403


def test_an_admin_removes_members_but_not_admins_or_the_owner(
    acme, admin, member, owner, second_admin
):
    client = client_for(acme, admin)
    client.post(f"/team/members/{membership(acme, member).pk}/remove/")
    assert role_of(acme, member) is None
    response = client.post(f"/team/members/{membership(acme, owner).pk}/remove/", follow=True)
    assert b"the only owner and cannot be removed" in response.content
    assert role_of(acme, owner) == "owner"
    response = client.post(
        f"/team/members/{membership(acme, second_admin).pk}/remove/", follow=True
    )
    assert b"Only an owner can remove an administrator." in response.content
    assert role_of(acme, second_admin) == "admin"


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_cannot_remove_anyone(request, acme, role, admin):
    response = client_for(acme, request.getfixturevalue(role)).post(
        f"/team/members/{membership(acme, admin).pk}/remove/"
    )
    assert response.status_code == 403
    assert role_of(acme, admin) == "admin"


def test_removing_yourself_is_leaving(acme, admin):
    response = client_for(acme, admin).get(f"/team/members/{membership(acme, admin).pk}/remove/")
    assert response.status_code == 302
    assert response["Location"] == "/team/leave/"


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
def test_anyone_but_the_last_owner_may_leave(request, acme, role):
    person = request.getfixturevalue(role)
    client = client_for(acme, person)
    page = client.get("/team/leave/")
    assert page.status_code == 200
    assert b"Leave organisation" in page.content
    response = client.post("/team/leave/")
    assert response.status_code == 302
    assert response["Location"] == "http://localhost/accounts/organisations/"
    assert role_of(acme, person) is None
    [event] = events_of(acme, "member.left")
    assert event.actor_id == person.pk


def test_the_last_owner_cannot_leave(acme, owner):
    client = client_for(acme, owner)
    page = client.get("/team/leave/")
    assert b"You are the only owner" in page.content
    assert b'<button type="submit" class="btn btn-danger">' not in page.content
    response = client.post("/team/leave/", follow=True)
    assert b"You are the only owner" in response.content
    assert role_of(acme, owner) == "owner"
    assert events_of(acme, "member.left") == []


def test_leaving_with_htmx_redirects_the_browser(acme, member):
    response = client_for(acme, member).post("/team/leave/", headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == "http://localhost/accounts/organisations/"
    assert role_of(acme, member) is None


def test_leave_anonymous_and_outsider(acme, outsider):
    assert client_for(acme).post("/team/leave/").status_code == 302
    assert client_for(acme, outsider).post("/team/leave/").status_code == 403


# ---------------------------------------------------------------------------------------------
# Transferring ownership


def test_owner_transfers_ownership_and_becomes_admin(acme, owner, member):
    client = client_for(acme, owner)
    target = membership(acme, member)
    page = client.get(f"/team/transfer/?to={target.pk}")
    assert page.status_code == 200
    assert re.search(rf'value="{target.pk}"\s+selected', page.content.decode())

    response = client.post("/team/transfer/", {"new_owner": target.pk, "confirm": "on"})
    assert response.status_code == 302
    assert role_of(acme, member) == "owner"
    assert role_of(acme, owner) == "admin"
    assert Tenant.objects.get(pk=acme.pk).owner == member
    [event] = events_of(acme, "organisation.ownership_transferred")
    assert event.data == {"from": "owner@acme.test", "to": "member@acme.test"}
    # The new owner may now transfer; the old one may not.
    assert client_for(acme, member).get("/team/transfer/").status_code == 200
    assert client.get("/team/transfer/").status_code == 403


def test_transfer_needs_the_confirmation_and_a_member_of_this_organisation(
    acme, globex, owner, admin, outsider
):
    client = client_for(acme, owner)
    response = client.post("/team/transfer/", {"new_owner": membership(acme, admin).pk})
    assert response.status_code == 200
    assert b"Tick the box to confirm the transfer." in response.content
    response = client.post(
        "/team/transfer/", {"new_owner": membership(globex, outsider).pk, "confirm": "on"}
    )
    assert response.status_code == 200
    assert b"Choose one of the members in the list." in response.content
    response = client.post("/team/transfer/", {"new_owner": "garbage", "confirm": "on"})
    assert response.status_code == 200
    assert role_of(acme, owner) == "owner"
    assert Tenant.objects.get(pk=acme.pk).owner == owner


def test_transfer_to_yourself_is_not_offered(acme, owner):
    response = client_for(acme, owner).post(
        "/team/transfer/", {"new_owner": membership(acme, owner).pk, "confirm": "on"}
    )
    assert b"Choose one of the members in the list." in response.content
    with pytest.raises(team.TeamError, match="already own"):
        team.transfer_ownership(membership(acme, owner), membership(acme, owner))


def test_transfer_page_ignores_a_garbage_choice_in_the_address(acme, owner):
    assert client_for(acme, owner).get("/team/transfer/?to=nonsense").status_code == 200


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
def test_only_the_owner_may_transfer(request, acme, role, owner):
    person = request.getfixturevalue(role)
    client = client_for(acme, person)
    assert client.get("/team/transfer/").status_code == 403
    response = client.post(
        "/team/transfer/", {"new_owner": membership(acme, person).pk, "confirm": "on"}
    )
    assert response.status_code == 403
    assert role_of(acme, owner) == "owner"


def test_transfer_anonymous_and_outsider(acme, outsider):
    assert client_for(acme).get("/team/transfer/").status_code == 302
    assert client_for(acme, outsider).get("/team/transfer/").status_code == 403


@pytest.fixture
def suspended_acme(acme):
    Tenant.objects.filter(pk=acme.pk).update(status=Tenant.Status.SUSPENDED)
    forget_hosts()
    yield acme
    forget_hosts()  # the host cache outlives the rolled-back transaction


def test_suspended_organisation_refuses_team_changes(suspended_acme, owner, member):
    acme = suspended_acme
    client = client_for(acme, owner)
    assert client.get("/team/").status_code == 200
    response = client.post(f"/team/members/{membership(acme, member).pk}/remove/")
    assert response.status_code == 403
    assert role_of(acme, member) == "member"

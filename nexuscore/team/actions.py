"""An organisation's team and settings: the named functions that change them.

Each function here is the one place its change happens: it checks the rules, changes the rows
and records an audit event in the organisation's own schema. When a rule forbids the change it
raises TeamError (or a subclass), whose message is written for the person who tried; views show
it as a message or a form error.

The rules (issue 3):

- Owners and administrators (`members.manage`) invite people, resend and revoke invitations,
  change roles and remove members. Every member sees the list of members.
- Only an owner gives or takes away the administrator role: only an owner invites someone as an
  administrator, promotes to or demotes from administrator, removes an administrator, or resends
  or revokes an invitation to become one. Administrators look after members and viewers. This
  keeps the question "who holds power over the team" with the owner: an administrator cannot
  create more administrators, nor push another one out.
- Nobody is invited as, or promoted to, owner. Ownership moves only by transfer_ownership()
  (`org.transfer`, owners only), which makes the previous owner an administrator.
- The last owner can neither leave, nor be removed, nor be demoted. An owner's role changes only
  through a transfer, or (should an organisation have two owners) by another owner.
- Anyone may leave the organisation (remove_member on their own membership), except the last
  owner.
- Seats: members plus pending invitations may not exceed the plan's `members` limit, checked when
  inviting, when resending an expired invitation and again when an invitation is accepted.

The invitation link carries a random token (secrets.token_urlsafe(32)); only its SHA-256 is
stored. The raw token exists only in the email, which is why mail is sent here, synchronously,
rather than by a queued task (the queue would store the token in the database).
"""

import hashlib
import secrets
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from nexuscore.audit.models import record_event
from nexuscore.quotas.models import METRICS, Enforcement, limit_and_enforcement
from tenants.models import Invitation, Membership, Tenant

Role = Membership.Role
INVITABLE_ROLES = (Role.ADMIN, Role.MEMBER, Role.VIEWER)


class TeamError(Exception):
    """A change the team rules do not allow; str(error) tells the person why and what to do."""


class SeatLimitReached(TeamError):
    """The plan has no seat left for another person."""


class WrongAccount(TeamError):
    """The signed-in person is not the one the invitation was sent to."""


class InvitationUnusable(TeamError):
    """The invitation link cannot be used. `reason` is one of REASONS."""

    REASONS = ("unknown", "expired", "revoked", "accepted", "closed", "suspended")

    def __init__(self, message, *, reason, invitation=None):
        super().__init__(message)
        self.reason = reason
        self.invitation = invitation


# ---------------------------------------------------------------------------------------------
# Seats


def member_limit(tenant) -> int | None:
    """The most members the organisation's plan allows (the quota module's members limit, when
    it is enforced HARD); None without a subscription, a limit or hard enforcement."""
    limit, enforcement = limit_and_enforcement(tenant, METRICS["members"])
    return limit if enforcement == Enforcement.HARD else None


def seats_left(tenant, *, ignoring=None) -> int | None:
    """How many more people may be invited: the plan's member limit minus members and pending
    invitations (never below 0). None means no limit.

    `ignoring` leaves one invitation out of the count: the one being accepted, whose seat is
    the one it takes.
    """
    # Pending invitations hold seats too, which the quota module's members gauge does not count,
    # so seats are counted here, under the lock on the tenant row that the callers hold.
    limit = member_limit(tenant)
    if limit is None:
        return None
    members = Membership.objects.filter(tenant=tenant).count()
    pending = Invitation.objects.filter(tenant=tenant).pending()
    if ignoring is not None:
        pending = pending.exclude(pk=ignoring.pk)
    return max(0, limit - members - pending.count())


def _seat_limit_reached(tenant) -> SeatLimitReached:
    return SeatLimitReached(
        f"Your plan allows {member_limit(tenant)} members, counting pending invitations; "
        "upgrade to invite more, or revoke an invitation or remove a member first."
    )


# ---------------------------------------------------------------------------------------------
# Invitations


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_invitation(token: str) -> Invitation | None:
    """The invitation an emailed link's token belongs to, whatever its state."""
    if not token or len(token) > 100:
        return None
    return (
        Invitation.objects.select_related("tenant", "invited_by")
        .filter(token_hash=hash_token(token))
        .first()
    )


def invitation_state(invitation) -> str:
    """ "pending", "expired", "revoked" or "accepted"."""
    if invitation.accepted_at:
        return "accepted"
    if invitation.revoked_at:
        return "revoked"
    if invitation.expires_at <= timezone.now():
        return "expired"
    return "pending"


def open_invitations(tenant):
    """Invitations neither accepted nor revoked: pending ones and expired ones to resend."""
    return Invitation.objects.filter(
        tenant=tenant, accepted_at__isnull=True, revoked_at__isnull=True
    ).select_related("invited_by")


def invite_member(by: Membership, *, email: str, role: str, site_url: str | None = None):
    """Invite `email` to `by`'s organisation with `role`, and email them the link.

    `site_url` is the public site's origin for the link (from the request); without it,
    settings.SITE_URL. An expired invitation to the same address gives way to the new one.
    """
    _require(by, "members.manage")
    tenant = by.tenant
    email = email.strip().lower()
    if role not in INVITABLE_ROLES:
        raise TeamError(
            "Invite people as an administrator, member or viewer; ownership is transferred, "
            "not invited."
        )
    if role == Role.ADMIN and by.role != Role.OWNER:
        raise TeamError(
            "Only an owner can invite an administrator. Invite them as a member; an owner can "
            "make them an administrator later."
        )
    now = timezone.now()
    with transaction.atomic():
        _lock(tenant)
        if Membership.objects.filter(tenant=tenant, user__email__iexact=email).exists():
            raise TeamError(f"{email} is already a member of {tenant.name}.")
        previous = open_invitations(tenant).filter(email__iexact=email).first()
        if previous is not None and invitation_state(previous) == "pending":
            raise TeamError(
                f"{email} already has a pending invitation; resend it from the list if it went "
                "astray."
            )
        if previous is not None:
            # Expired: withdraw it so that the new one is the only open invitation.
            previous.revoked_at = now
            previous.save(update_fields=["revoked_at"])
        left = seats_left(tenant)
        if left is not None and left < 1:
            raise _seat_limit_reached(tenant)
        token = secrets.token_urlsafe(32)
        invitation = Invitation.objects.create(
            tenant=tenant,
            email=email,
            role=role,
            token_hash=hash_token(token),
            invited_by=by.user,
            sent_at=now,
            expires_at=now + timedelta(days=Invitation.VALID_DAYS),
        )
        record_event(
            "invitation.created",
            actor=by.user,
            tenant=tenant,
            data={"email": email, "role": role},
            schema_name=tenant.schema_name,
        )
    _send_invitation(invitation, token, site_url)
    return invitation


def resend_invitation(by: Membership, invitation: Invitation, *, site_url: str | None = None):
    """Give the invitation a new link and a new expiry, and email it again.

    The old link stops working. An expired invitation takes a seat again, so seats are checked.
    """
    problem = invitation_problem(by, invitation)
    if problem:
        raise TeamError(problem)
    tenant = by.tenant
    now = timezone.now()
    with transaction.atomic():
        _lock(tenant)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        state = invitation_state(invitation)
        if state in ("accepted", "revoked"):
            raise TeamError(f"The invitation to {invitation.email} was {state}; invite them again.")
        if state == "expired":
            left = seats_left(tenant)
            if left is not None and left < 1:
                raise _seat_limit_reached(tenant)
        token = secrets.token_urlsafe(32)
        invitation.token_hash = hash_token(token)
        invitation.sent_at = now
        invitation.expires_at = now + timedelta(days=Invitation.VALID_DAYS)
        invitation.save(update_fields=["token_hash", "sent_at", "expires_at"])
        record_event(
            "invitation.resent",
            actor=by.user,
            tenant=tenant,
            data={"email": invitation.email, "role": invitation.role},
            schema_name=tenant.schema_name,
        )
    _send_invitation(invitation, token, site_url)
    return invitation


def revoke_invitation(by: Membership, invitation: Invitation) -> Invitation:
    """Withdraw an invitation; its link stops working and its seat is free again."""
    problem = invitation_problem(by, invitation)
    if problem:
        raise TeamError(problem)
    tenant = by.tenant
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        state = invitation_state(invitation)
        if state in ("accepted", "revoked"):
            raise TeamError(f"The invitation to {invitation.email} was already {state}.")
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        record_event(
            "invitation.revoked",
            actor=by.user,
            tenant=tenant,
            data={"email": invitation.email, "role": invitation.role},
            schema_name=tenant.schema_name,
        )
    return invitation


def invitation_problem(by: Membership, invitation: Invitation) -> str | None:
    """Why `by` may not resend or revoke `invitation`; None when they may."""
    if not by.has_permission("members.manage"):
        return "Your role doesn't allow handling invitations; ask an owner or administrator."
    if invitation.tenant_id != by.tenant_id:
        return "This invitation belongs to another organisation."
    if invitation.role == Role.ADMIN and by.role != Role.OWNER:
        return "Only an owner can resend or revoke an invitation to be an administrator."
    return None


def email_matches(user, email: str) -> bool:
    """Whether `email` is the person's address, or one of their verified addresses."""
    email = email.strip().lower()
    if user.email.lower() == email:
        return True
    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


def accept_invitation(token: str, user) -> Membership:
    """Make `user` a member with the invitation's role. Raises InvitationUnusable, WrongAccount
    or SeatLimitReached. Someone already a member keeps their role; the invitation is used up."""
    found = find_invitation(token)
    if found is None:
        raise InvitationUnusable("This invitation link is not valid.", reason="unknown")
    tenant = found.tenant
    now = timezone.now()
    with transaction.atomic():
        tenant = _lock(tenant)
        invitation = Invitation.objects.select_for_update().get(pk=found.pk)
        invitation.tenant = tenant
        require_usable(invitation)
        if not email_matches(user, invitation.email):
            raise WrongAccount(
                f"This invitation is for {invitation.email}; you are signed in as {user.email}."
            )
        membership = Membership.objects.filter(tenant=tenant, user=user).first()
        already_member = membership is not None
        if not already_member:
            left = seats_left(tenant, ignoring=invitation)
            if left is not None and left < 1:
                raise SeatLimitReached(
                    f"{tenant.name} has no free seat on its plan. Ask "
                    f"{_name(invitation.invited_by) or 'an owner'} to upgrade or free a seat, "
                    "then open this link again."
                )
            membership = Membership.objects.create(
                tenant=tenant,
                user=user,
                role=invitation.role,
                invited_by=invitation.invited_by,
                joined_at=now,
            )
        invitation.accepted_at = now
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        data = {"email": invitation.email, "role": membership.role}
        if already_member:
            data["already_member"] = True
        record_event(
            "invitation.accepted",
            actor=user,
            tenant=tenant,
            data=data,
            schema_name=tenant.schema_name,
        )
    return membership


def require_usable(invitation) -> None:
    """Raise InvitationUnusable when the invitation's link can no longer be used."""
    state = invitation_state(invitation)
    tenant = invitation.tenant
    inviter = _name(invitation.invited_by) or f"an owner of {tenant.name}"
    if tenant.status == Tenant.Status.CLOSED:
        raise InvitationUnusable(
            f"{tenant.name} has closed its NexusCore account.",
            reason="closed",
            invitation=invitation,
        )
    if state == "revoked":
        raise InvitationUnusable(
            f"This invitation was withdrawn. If you still need access, ask {inviter}.",
            reason="revoked",
            invitation=invitation,
        )
    if state == "accepted":
        raise InvitationUnusable(
            "This invitation has already been accepted.", reason="accepted", invitation=invitation
        )
    if state == "expired":
        raise InvitationUnusable(
            f"This invitation has expired. Ask {inviter} to send it again.",
            reason="expired",
            invitation=invitation,
        )
    if tenant.status == Tenant.Status.SUSPENDED:
        raise InvitationUnusable(
            f"{tenant.name} is suspended, so nobody can join it for now. Try again once it is "
            "active.",
            reason="suspended",
            invitation=invitation,
        )


def _send_invitation(invitation: Invitation, token: str, site_url: str | None) -> None:
    tenant = invitation.tenant
    context = {
        "invitation": invitation,
        "tenant": tenant,
        "inviter": invitation.invited_by,
        "role": invitation.get_role_display(),
        "accept_url": f"{site_url or settings.SITE_URL}/invitations/{token}/",
        "expires_at": invitation.expires_at,
        "zone": tenant.zone,
    }
    message = EmailMultiAlternatives(
        subject=render_to_string("emails/invitation_subject.txt", context).strip(),
        body=render_to_string("emails/invitation.txt", context),
        to=[invitation.email],
        reply_to=[invitation.invited_by.email] if invitation.invited_by else [],
    )
    message.attach_alternative(render_to_string("emails/invitation.html", context), "text/html")
    message.send()


# ---------------------------------------------------------------------------------------------
# Members


def role_change_problem(by: Membership, membership: Membership, role: str) -> str | None:
    """Why `by` may not give `membership` the role `role`; None when they may."""
    if not by.has_permission("members.manage"):
        return "Your role doesn't allow changing roles; ask an owner or administrator."
    if role == Role.OWNER:
        return "Ownership moves by transfer: use “Transfer ownership” instead."
    if role not in INVITABLE_ROLES:
        return "Choose administrator, member or viewer."
    if membership.role == Role.OWNER:
        if by.role != Role.OWNER:
            return "Only an owner can change an owner's role."
        if not _other_owners(membership).exists():
            return (
                f"{_name(membership.user)} is the only owner; transfer ownership to someone "
                "else first."
            )
    if Role.ADMIN in (membership.role, role) and by.role != Role.OWNER:
        return "Only an owner can give or take away the administrator role."
    return None


def removal_problem(by: Membership, membership: Membership) -> str | None:
    """Why `by` may not remove `membership` (or leave, when it is their own); None if they may."""
    leaving = by.pk == membership.pk
    if membership.role == Role.OWNER and not _other_owners(membership).exists():
        if leaving:
            return "You are the only owner: transfer ownership to another member before you leave."
        return f"{_name(membership.user)} is the only owner and cannot be removed."
    if leaving:
        return None
    if not by.has_permission("members.manage"):
        return "Your role doesn't allow removing people; ask an owner or administrator."
    if membership.role == Role.OWNER and by.role != Role.OWNER:
        return "Only an owner can remove an owner."
    if membership.role == Role.ADMIN and by.role != Role.OWNER:
        return "Only an owner can remove an administrator."
    return None


def change_role(by: Membership, membership: Membership, *, role: str) -> Membership:
    """Give a member another role (never owner: see transfer_ownership)."""
    tenant = by.tenant
    with transaction.atomic():
        tenant = _lock(tenant)
        # Read again under the lock: the rules depend on roles someone else may just have changed.
        by, membership = _reload(by), _reload(membership)
        problem = role_change_problem(by, membership, role)
        if problem:
            raise TeamError(problem)
        old = membership.role
        if old == role:
            return membership
        membership.role = role
        membership.save(update_fields=["role"])
        if old == Role.OWNER:
            _hand_tenant_owner_to_another(tenant, membership)
        record_event(
            "member.role_changed",
            actor=by.user,
            tenant=tenant,
            data={"member": membership.user.email, "old": old, "new": role},
            schema_name=tenant.schema_name,
        )
    return membership


def remove_member(by: Membership, membership: Membership) -> None:
    """Take someone out of the organisation; on their own membership, leave it."""
    tenant = by.tenant
    with transaction.atomic():
        tenant = _lock(tenant)
        by, membership = _reload(by), _reload(membership)
        problem = removal_problem(by, membership)
        if problem:
            raise TeamError(problem)
        leaving = by.pk == membership.pk
        membership.delete()
        if membership.role == Role.OWNER:
            _hand_tenant_owner_to_another(tenant, membership)
        record_event(
            "member.left" if leaving else "member.removed",
            actor=by.user,
            tenant=tenant,
            data={"member": membership.user.email, "role": membership.role},
            schema_name=tenant.schema_name,
        )


def transfer_ownership(by: Membership, membership: Membership) -> Membership:
    """Make `membership` the owner; `by`, the owner until now, becomes an administrator."""
    tenant = by.tenant
    with transaction.atomic():
        tenant = _lock(tenant)
        previous, membership = _reload(by), _reload(membership)
        _require(previous, "org.transfer")
        if membership.pk == previous.pk:
            raise TeamError("You already own this organisation; choose another member.")
        if membership.tenant_id != previous.tenant_id:
            raise TeamError("Choose a member of this organisation.")
        membership.role = Role.OWNER
        membership.save(update_fields=["role"])
        previous.role = Role.ADMIN
        previous.save(update_fields=["role"])
        tenant.owner = membership.user
        tenant.save(update_fields=["owner", "updated_at"])
        record_event(
            "organisation.ownership_transferred",
            actor=previous.user,
            tenant=tenant,
            data={"from": previous.user.email, "to": membership.user.email},
            schema_name=tenant.schema_name,
        )
    return membership


# ---------------------------------------------------------------------------------------------
# Settings

SETTINGS_FIELDS = (
    "name",
    "uen",
    "is_gst_registered",
    "gst_number",
    "billing_email",
    "billing_phone",
    "billing_address",
    "timezone",
    "requires_two_factor",
)


def update_settings(by: Membership, changes: dict) -> dict:
    """Apply `changes` (Tenant field -> value, already validated) to `by`'s organisation.

    Returns the fields that changed, {field: {"old": ..., "new": ...}}; the same goes into the
    `organisation.updated` event. Nothing here is secret, so old and new values are recorded.
    """
    _require(by, "org.update")
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"Not a setting: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        tenant = _lock(by.tenant)
        changed = {}
        for field, new in changes.items():
            old = getattr(tenant, field)
            if old != new:
                changed[field] = {"old": old, "new": new}
                setattr(tenant, field, new)
        if not changed:
            return {}
        tenant.save(update_fields=[*changed, "updated_at"])
        record_event(
            "organisation.updated",
            actor=by.user,
            tenant=tenant,
            data={"changes": changed},
            schema_name=tenant.schema_name,
        )
    return changed


# ---------------------------------------------------------------------------------------------


def _require(by: Membership, permission: str) -> None:
    if not by.has_permission(permission):
        raise TeamError(
            f"As {by.get_role_display().lower()}, you can't do this; ask an owner or administrator."
        )


def _lock(tenant) -> Tenant:
    """The organisation's row, locked until the transaction ends: team changes of one
    organisation happen one at a time, so two at once cannot both take the last seat."""
    return Tenant.objects.select_for_update().get(pk=tenant.pk)


def _reload(membership: Membership) -> Membership:
    """The membership as stored now (TeamError if it has gone), locked with its person."""
    found = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(pk=membership.pk)
        .first()
    )
    if found is None:
        raise TeamError("This person is no longer a member of the organisation.")
    return found


def _other_owners(membership: Membership):
    return Membership.objects.filter(tenant_id=membership.tenant_id, role=Role.OWNER).exclude(
        pk=membership.pk
    )


def _hand_tenant_owner_to_another(tenant, former: Membership) -> None:
    """Keep Tenant.owner pointing at an owner when the one it names stops being one."""
    if tenant.owner_id != former.user_id:
        return
    successor = _other_owners(former).order_by("joined_at").first()
    if successor is not None:
        tenant.owner_id = successor.user_id
        tenant.save(update_fields=["owner", "updated_at"])


def _name(user) -> str:
    if user is None:
        return ""
    return user.name or user.email

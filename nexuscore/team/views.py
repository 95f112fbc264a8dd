"""Team and settings pages of an organisation's host, and the invitation pages of the public host.

Team actions answer HTMX requests with the `team` partial of app/team.html (messages follow as
toasts) and plain POSTs with a redirect to /team/, so every action works without JavaScript.
The rules themselves live in actions.py.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from nexuscore.lib.htmx import is_partial, render_page
from nexuscore.team import actions as team
from nexuscore.team.forms import (
    InvitationForm,
    OrganisationSettingsForm,
    RoleForm,
    TransferOwnershipForm,
)
from tenants.decorators import require_membership, require_permission
from tenants.hosts import public_url
from tenants.middleware import current_membership
from tenants.models import Invitation, Membership

ROLE_ORDER = {role: position for position, role in enumerate(Membership.Role.values)}


def _get_membership_for_manager(request, membership_id) -> Membership:
    """A membership of this host's organisation; another organisation's id is a 404."""
    return get_object_or_404(
        Membership.objects.select_related("user"), pk=membership_id, tenant=request.tenant
    )


def _get_invitation_for_manager(request, invitation_id) -> Invitation:
    """An open invitation of this host's organisation; anything else is a 404."""
    return get_object_or_404(
        team.open_invitations(request.tenant), pk=invitation_id, tenant=request.tenant
    )


# ---------------------------------------------------------------------------------------------
# Team (tenant hosts)


def _team_context(request, invite_form=None) -> dict:
    by = current_membership(request)
    members = sorted(
        Membership.objects.filter(tenant=request.tenant).select_related("user"),
        key=lambda m: (ROLE_ORDER[m.role], (m.user.name or m.user.email).lower()),
    )
    can_manage = by.has_permission("members.manage")
    rows = []
    for membership in members:
        role_choices = []
        if can_manage and membership.pk != by.pk:
            role_choices = [
                (role.value, role.label)
                for role in team.INVITABLE_ROLES
                if role == membership.role or team.role_change_problem(by, membership, role) is None
            ]
        rows.append(
            {
                "membership": membership,
                "is_self": membership.pk == by.pk,
                # Only worth a form when there is a role to change to.
                "role_choices": role_choices if len(role_choices) > 1 else [],
                "can_remove": membership.pk != by.pk
                and team.removal_problem(by, membership) is None,
            }
        )
    context = {
        "rows": rows,
        "can_manage": can_manage,
        "can_transfer": by.has_permission("org.transfer") and len(members) > 1,
        "can_leave": team.removal_problem(by, by) is None,
    }
    if can_manage:
        invitations = list(team.open_invitations(request.tenant).order_by("-created_at"))
        for invitation in invitations:
            invitation.state = team.invitation_state(invitation)
            invitation.may_handle = team.invitation_problem(by, invitation) is None
        context.update(
            invitations=invitations,
            invite_form=invite_form or InvitationForm(by=by),
            seats_left=team.seats_left(request.tenant),
            member_limit=team.member_limit(request.tenant),
            invitation_days=Invitation.VALID_DAYS,
        )
    return context


def _render_team(request, invite_form=None):
    return render_page(
        request, "app/team.html", _team_context(request, invite_form), partial="team"
    )


def _after_team_action(request):
    """An HTMX request gets the refreshed team region; a plain POST goes back to /team/."""
    if is_partial(request):
        return _render_team(request)
    return redirect("team")


def _site_url(request) -> str:
    return public_url(request, "")


@require_GET
@vary_on_headers("HX-Request")
@require_membership
def team_page(request):
    return _render_team(request)


@require_POST
@vary_on_headers("HX-Request")
@require_permission("members.manage")
def invite(request):
    by = current_membership(request)
    form = InvitationForm(request.POST, by=by)
    if form.is_valid():
        try:
            invitation = team.invite_member(
                by,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                site_url=_site_url(request),
            )
        except team.TeamError as error:
            form.add_error(None, str(error))
        else:
            role = invitation.get_role_display().lower()
            messages.success(request, f"Invitation sent to {invitation.email} as {role}.")
            return _after_team_action(request)
    # The form again, with its errors and what was typed, on the team page or in its region.
    return _render_team(request, invite_form=form)


@require_POST
@vary_on_headers("HX-Request")
@require_permission("members.manage")
def resend_invitation(request, invitation_id):
    invitation = _get_invitation_for_manager(request, invitation_id)
    try:
        team.resend_invitation(current_membership(request), invitation, site_url=_site_url(request))
    except team.TeamError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, f"Invitation sent again to {invitation.email}; the old link no longer works."
        )
    return _after_team_action(request)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@require_permission("members.manage")
def revoke_invitation(request, invitation_id):
    """GET: a page asking to confirm (the button without JavaScript); POST: revoke."""
    invitation = _get_invitation_for_manager(request, invitation_id)
    if request.method == "GET":
        return _confirm(
            request,
            title=f"Revoke the invitation to {invitation.email}?",
            text="The link in their email will stop working. You can invite them again later.",
            button="Revoke invitation",
        )
    try:
        team.revoke_invitation(current_membership(request), invitation)
    except team.TeamError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"The invitation to {invitation.email} was revoked.")
    return _after_team_action(request)


@require_POST
@vary_on_headers("HX-Request")
@require_permission("members.manage")
def change_role(request, membership_id):
    membership = _get_membership_for_manager(request, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["role"][0])
        return _after_team_action(request)
    role = form.cleaned_data["role"]
    role_words = _article(Membership.Role(role).label)
    if role == membership.role:
        messages.info(request, f"{_person(membership)} is already {role_words}.")
        return _after_team_action(request)
    try:
        team.change_role(current_membership(request), membership, role=role)
    except team.TeamError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{_person(membership)} is now {role_words}.")
    return _after_team_action(request)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@require_permission("members.manage")
def remove_member(request, membership_id):
    """GET: a page asking to confirm; POST: remove the member."""
    membership = _get_membership_for_manager(request, membership_id)
    by = current_membership(request)
    if membership.pk == by.pk:
        return redirect("leave_organisation")
    if request.method == "GET":
        return _confirm(
            request,
            title=f"Remove {_person(membership)} from {request.tenant.name}?",
            text=f"{membership.user.email} will lose access at once. You can invite them again "
            "later.",
            button="Remove",
        )
    try:
        team.remove_member(by, membership)
    except team.TeamError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{_person(membership)} was removed from {request.tenant.name}.")
    return _after_team_action(request)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@require_membership
def leave_organisation(request):
    """GET: a page asking to confirm; POST: leave, and go to the list of organisations."""
    by = current_membership(request)
    if request.method == "GET":
        problem = team.removal_problem(by, by)
        return _confirm(
            request,
            title=f"Leave {request.tenant.name}?",
            text=problem
            or "You will lose access at once; someone would have to invite you to come back.",
            button="Leave organisation",
            blocked=bool(problem),
        )
    try:
        team.remove_member(by, by)
    except team.TeamError as error:
        messages.error(request, str(error))
        return _after_team_action(request)
    destination = public_url(
        request, reverse("organisations", urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    )
    if is_partial(request):
        return HttpResponseClientRedirect(destination)
    return redirect(destination)


@require_http_methods(["GET", "POST"])
@require_permission("org.transfer")
def transfer_ownership(request):
    by = current_membership(request)
    if request.method == "POST":
        form = TransferOwnershipForm(request.POST, by=by)
        if form.is_valid():
            new_owner = form.cleaned_data["new_owner"]
            try:
                team.transfer_ownership(by, new_owner)
            except team.TeamError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    f"{_person(new_owner)} now owns {request.tenant.name}; you are an "
                    "administrator.",
                )
                return redirect("team")
    else:
        # ?to=<membership id> from a row of the team page chooses the member in advance.
        chosen = TransferOwnershipForm(request.GET, by=by).fields["new_owner"]
        try:
            initial = chosen.clean(request.GET.get("to"))
        except ValidationError:
            initial = None
        form = TransferOwnershipForm(by=by, initial={"new_owner": initial})
    return render(request, "app/team_transfer.html", {"form": form})


def _confirm(request, *, title, text, button, blocked=False):
    context = {"title": title, "text": text, "button": button, "blocked": blocked}
    return render(request, "app/team_confirm.html", context)


def _person(membership) -> str:
    return membership.user.name or membership.user.email


def _article(role_label: str) -> str:
    return f"an {role_label.lower()}" if role_label[0] in "AEIOU" else f"a {role_label.lower()}"


# ---------------------------------------------------------------------------------------------
# Settings (tenant hosts)


@require_http_methods(["GET", "POST"])
@require_permission("org.update")
def organisation_settings(request):
    tenant = request.tenant
    if request.method == "POST":
        form = OrganisationSettingsForm(request.POST, tenant=tenant)
        if form.is_valid():
            changed = team.update_settings(current_membership(request), form.changes())
            if changed:
                messages.success(request, "Settings saved.")
            else:
                messages.info(request, "Nothing had changed, so nothing was saved.")
            return redirect("organisation_settings")
    else:
        form = OrganisationSettingsForm(
            initial=OrganisationSettingsForm.initial_for(tenant), tenant=tenant
        )
    return render(request, "app/settings.html", {"form": form})


# ---------------------------------------------------------------------------------------------
# Invitations (public host)


def _unusable(request, error: team.InvitationUnusable):
    status = 404 if error.reason == "unknown" else 410
    context = {"error": error, "invitation": error.invitation}
    return render(request, "invitations/unusable.html", context, status=status)


def _invitation_page(request, invitation, *, error=None, status=200):
    here = reverse("invitation", args=[request.resolver_match.kwargs["token"]])
    signup_query = urlencode({"next": here, "email": invitation.email})
    user = request.user
    context = {
        "invitation": invitation,
        "organisation": invitation.tenant,
        "inviter": invitation.invited_by,
        "login_url": f"{reverse('account_login')}?{urlencode({'next': here})}",
        "signup_url": f"{reverse('account_signup')}?{signup_query}",
        "logout_next": here,
        "wrong_account": user.is_authenticated and not team.email_matches(user, invitation.email),
        "error": error,
        "zone": invitation.tenant.zone,
    }
    return render(request, "invitations/invitation.html", context, status=status)


def _is_member(user, tenant) -> bool:
    return user.is_authenticated and Membership.objects.filter(tenant=tenant, user=user).exists()


@require_GET
def invitation(request, token):
    """What the link in the invitation email opens: who invites you where, and what to do."""
    found = team.find_invitation(token)
    if found is None:
        return _unusable(
            request, team.InvitationUnusable("This invitation link is not valid.", reason="unknown")
        )
    if _is_member(request.user, found.tenant):
        # Nothing to accept: take them in.
        return redirect("open_organisation", slug=found.tenant.schema_name)
    try:
        team.require_usable(found)
    except team.InvitationUnusable as error:
        return _unusable(request, error)
    return _invitation_page(request, found)


@require_POST
def accept_invitation(request, token):
    """Join the organisation, then go there through the hand-over of the public host."""
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("invitation", args=[token]))
    found = team.find_invitation(token)
    if found is not None and _is_member(request.user, found.tenant):
        return redirect("open_organisation", slug=found.tenant.schema_name)
    try:
        membership = team.accept_invitation(token, request.user)
    except team.InvitationUnusable as error:
        return _unusable(request, error)
    except team.WrongAccount as error:
        return _invitation_page(request, found, error=str(error), status=403)
    except team.TeamError as error:  # no seat left
        return _invitation_page(request, found, error=str(error), status=409)
    return redirect("open_organisation", slug=membership.tenant.schema_name)

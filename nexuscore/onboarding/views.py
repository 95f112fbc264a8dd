"""Onboarding on the public host: creating an organisation, and the live checks beside the
subdomain and UEN fields of its form.

The organisation is provisioned inside the request: claiming a pre-migrated schema from the
pool takes about 10 ms; with the pool empty, migrating a fresh schema takes about half a second,
still acceptable for a step a person takes once.
"""

import re
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from nexuscore.accounts.handover import start_url
from nexuscore.billing.models import TRIAL_DAYS, Plan
from nexuscore.onboarding.forms import (
    OrganisationForm,
    check_slug,
    first_free_slug,
    normalise_slug,
    uen_check_problem,
)
from nexuscore.onboarding.provisioning import provision_tenant

DEFAULT_PLAN_SKU = "growth-month"
# The plan chosen on the price list, kept while the person signs up and verifies their email.
PLAN_SESSION_KEY = "onboarding_plan"
TEMPLATE = "onboarding/create_organisation.html"
SKU_PATTERN = re.compile(r"[a-z0-9-]{1,50}")


def _signed_in(view):
    """login_required for the live checks: an HTMX request is sent to sign in as a whole page
    (HX-Redirect) rather than having the sign-in page swapped into a field."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        next_url = urlencode({"next": reverse("create_organisation")}, safe="/")
        login_url = f"{resolve_url(settings.LOGIN_URL)}?{next_url}"
        if request.htmx:
            return HttpResponseClientRedirect(login_url)
        return redirect(login_url)

    return wrapper


def _chosen_plan_sku(request) -> str:
    """The plan from ?plan= (remembered in the session), else the one remembered, else Growth."""
    sku = request.GET.get("plan", "")
    if SKU_PATTERN.fullmatch(sku) and Plan.objects.on_sale().filter(sku=sku).exists():
        request.session[PLAN_SESSION_KEY] = sku
    return request.session.get(PLAN_SESSION_KEY, DEFAULT_PLAN_SKU)


def _slug_field_context(value, errors=None, suggested="") -> dict:
    """The subdomain field's partial. Without `errors` (a live check, or a form not yet
    submitted) the value is judged here."""
    value = str(value or "")[:100]
    check = check_slug(value)
    if errors is None:
        errors = [check.problem] if check.problem else []
    return {
        "slug_value": value,
        "slug": check.slug,
        "slug_errors": list(errors),
        "slug_suggestions": check.suggestions if errors else [],
        "slug_available": check.available and not errors,
        "slug_suggested": suggested,
    }


def _uen_field_context(value, errors=None) -> dict:
    """The UEN field's partial; like _slug_field_context, an empty value is not an error yet."""
    value = str(value or "")[:50]
    if errors is None:
        problem = uen_check_problem(value) if value.strip() else None
        errors = [problem] if problem else []
    ok = bool(value.strip()) and not errors
    return {"uen_value": value, "uen_errors": list(errors), "uen_ok": ok}


def _render_form(request, form):
    judged = form.is_bound  # a submitted form has judged its fields already
    context = {
        "form": form,
        "trial_days": TRIAL_DAYS,
        **_slug_field_context(form["slug"].value(), form["slug"].errors if judged else None),
        **_uen_field_context(form["uen"].value(), form["uen"].errors if judged else None),
    }
    return render(request, TEMPLATE, context)


def _values_with_suggestion(data) -> dict:
    """Without JavaScript, a suggested subdomain is a submit button: the form comes back with
    everything typed so far and the suggestion in the subdomain field."""
    values = {name: data.get(name, "") for name in OrganisationForm.base_fields}
    values["is_gst_registered"] = bool(data.get("is_gst_registered"))
    values["slug"] = normalise_slug(data.get("suggested_slug"))
    return values


def _provision(form, owner):
    """provision_tenant() with the form's values; what it refuses becomes the form's errors."""
    try:
        return provision_tenant(
            name=form.cleaned_data["name"],
            slug=form.cleaned_data["slug"],
            owner=owner,
            plan=form.cleaned_data["plan"],
            **form.organisation_details(),
        )
    except ValidationError as error:
        problems = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
        for name, messages in problems.items():
            form.add_error(name if name in form.fields else None, messages)
    except IntegrityError:
        # Someone took the subdomain or the UEN between our checks and the insert: checking
        # again names the field.
        form.full_clean()
        if not form.errors:
            form.add_error(None, "Something changed while we were creating it; please try again.")
    return None


@require_http_methods(["GET", "POST"])
def create_organisation(request):
    """Public host: a signed-in person creates an organisation on a trial and is handed over
    to it; anyone else signs up first and comes back here."""
    plan_sku = _chosen_plan_sku(request)
    if not request.user.is_authenticated:
        path = request.get_full_path() if request.method == "GET" else request.path
        return redirect(f"{reverse('account_signup')}?{urlencode({'next': path}, safe='/')}")
    if request.method == "GET":
        form = OrganisationForm(user=request.user, initial={"plan": plan_sku})
    elif request.POST.get("suggested_slug"):
        form = OrganisationForm(user=request.user, initial=_values_with_suggestion(request.POST))
    else:
        form = OrganisationForm(request.POST, user=request.user)
        if form.is_valid():
            tenant = _provision(form, request.user)
            if tenant is not None:
                request.session.pop(PLAN_SESSION_KEY, None)
                return redirect(start_url(request, tenant))
    return _render_form(request, form)


@require_GET
@_signed_in
def check_subdomain(request):
    """The subdomain field, judged. Asked with `from_name` (as the name is typed), it fills in
    a free subdomain made from the name unless the person has typed one of their own."""
    slug = normalise_slug(request.GET.get("slug"))
    suggested = normalise_slug(request.GET.get("slug_suggested"))
    if request.GET.get("from_name") and (not slug or slug == suggested):
        slug = suggested = first_free_slug(request.GET.get("name", ""))
    return render(request, f"{TEMPLATE}#slug_field", _slug_field_context(slug, suggested=suggested))


@require_GET
@_signed_in
def check_uen(request):
    """The UEN field, judged."""
    return render(request, f"{TEMPLATE}#uen_field", _uen_field_context(request.GET.get("uen")))

"""The public capture form on an organisation's host (/f/<form>/), and the snippet's target.

Anyone may post here, from the organisation's own website as well as from this host, so the view
is exempt from CSRF protection (a token from our host cannot exist on theirs). What CSRF would
protect against, a visitor being tricked into posting, does no harm here: the form only ever
creates a lead. Abuse is kept out instead by the honeypot field, a rate limit per address, the
submission key (one lead per submitted form, however often it is sent) and the plan's quota.
"""

import hashlib
import time
import uuid
from urllib.parse import parse_qs, urlsplit

from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from nexuscore.billing.idempotency import run_once
from nexuscore.leads import actions
from nexuscore.leads.forms import CaptureSubmissionForm
from nexuscore.leads.models import CaptureForm, Lead
from nexuscore.lib.ratelimit import RateLimit, client_address
from nexuscore.quotas.models import METRICS, QuotaExceeded, current_period

UTM_FIELDS = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"]
# Submissions one address may send to one organisation's forms in ten minutes.
SUBMISSIONS = RateLimit("capture-submission", limit=5, window=10 * 60)


def _get_capture_form(slug: str) -> CaptureForm:
    """The organisation's form with this slug; `contact` exists from its first visit."""
    if slug == "contact":
        form, _ = CaptureForm.objects.get_or_create(slug="contact")
        return form
    return get_object_or_404(CaptureForm, slug=slug)


def _utm_from(request, form_data) -> dict:
    """UTM values from the form's hidden fields (copied from the landing URL on our page), or
    else from the address of the page the form was posted from (the pasted snippet)."""
    utm = {field: form_data.get(field, "") for field in UTM_FIELDS}
    if not any(utm.values()):
        query = parse_qs(urlsplit(request.META.get("HTTP_REFERER", "")).query)
        utm = {field: query.get(field, [""])[0][:255] for field in UTM_FIELDS}
    return utm


def _derived_key(slug, address, data) -> str:
    """A submission key for posts that bring none (a snippet pasted without one): the same
    form sent again from the same address within ten minutes is the same submission."""
    window = int(time.time() // 600)
    parts = [slug, address, data["email"], data["name"], data.get("message", ""), str(window)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _tell_owner_form_refused(tenant, capture: CaptureForm) -> None:
    """Email the owner the first time in a period that the form turns a visitor away."""
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    start, _ = current_period(tenant, METRICS["leads.created"])
    first = (
        CaptureForm.objects.filter(pk=capture.pk)
        .exclude(quota_notice_period=start)
        .update(quota_notice_period=start)
    )
    if not first or tenant.owner is None:
        return
    context = {"tenant": tenant, "usage_url": tenant.url_for("usage")}
    send_mail(
        subject=f"{tenant.name}'s website form is turning leads away",
        message=render_to_string("emails/lead_capture_refused.txt", context),
        from_email=None,
        recipient_list=[tenant.owner.email],
    )


@csrf_exempt  # posted from other sites: see the module docstring for what protects it instead
@require_http_methods(["GET", "POST"])
def capture(request, slug):
    capture_form = _get_capture_form(slug)
    context = {
        "capture": capture_form,
        "consent_text": capture_form.consent_text_for(request.tenant.name),
    }
    if not capture_form.is_active:
        return render(request, "capture/closed.html", context)
    if request.method == "GET":
        initial = {field: request.GET.get(field, "")[:255] for field in UTM_FIELDS}
        initial["submission_key"] = uuid.uuid4().hex
        form = CaptureSubmissionForm(initial=initial)
        return render(request, "capture/form.html", {**context, "form": form})

    form = CaptureSubmissionForm(request.POST)
    if form.data.get("website"):
        # A bot filled the honeypot: thank it and keep nothing.
        return redirect("capture_thanks", slug=slug)
    if not form.is_valid():
        return render(request, "capture/form.html", {**context, "form": form})
    data = form.cleaned_data
    address = client_address(request)
    key = data["submission_key"] or _derived_key(slug, address, data)
    # The same submission again gets the first answer; the same key with other details, a 409
    # (nexuscore/billing/idempotency.py, records scoped by this organisation's schema).
    payload = {name: value for name, value in data.items() if name != "submission_key"}
    return run_once(
        request,
        f"capture:{key}",
        payload,
        lambda: _accept(request, slug, capture_form, context, data, address, key),
    )


def _accept(request, slug, capture_form, context, data, address, key):
    """Create the lead of a valid submission (once per submission key)."""
    if Lead.objects.filter(submission_key=key).exists():
        return redirect("capture_thanks", slug=slug)  # a double click or a resubmit
    if not SUBMISSIONS.attempt(within=request.tenant.schema_name, ip=address):
        return render(request, "capture/rate_limited.html", context, status=429)
    now = timezone.now()
    fields = {
        "name": data["name"],
        "email": data["email"],
        "phone": data["phone"],
        "company": data["company"],
        "notes": data["message"],
        "source": Lead.Source.CAPTURE_FORM,
        "form_data": {
            "form": slug,
            "message": data["message"],
            "page": request.META.get("HTTP_REFERER", "")[:500],
        },
        "consent_purpose": capture_form.consent_purpose,
        "consent_text": context["consent_text"],
        "consent_version": capture_form.consent_version,
        "consent_given_at": now,
        "assigned_to": capture_form.assign_to,
        "submission_key": key,
        **_utm_from(request, data),
    }
    try:
        lead = actions.create_lead(request.tenant, **fields)
    except QuotaExceeded:
        _tell_owner_form_refused(request.tenant, capture_form)
        return render(request, "capture/not_accepting.html", context)
    except IntegrityError:
        # The same submission arrived twice at once; the other request created the lead.
        return redirect("capture_thanks", slug=slug)
    recipient = capture_form.assign_to or request.tenant.owner
    transaction.on_commit(lambda: actions.notify_new_lead(request.tenant, lead, recipient))
    return redirect("capture_thanks", slug=slug)


@require_GET
def capture_thanks(request, slug):
    capture_form = _get_capture_form(slug)
    return render(request, "capture/thanks.html", {"capture": capture_form})

"""Privacy pages.

For anyone, on every host (an organisation's, or the public site for NexusCore's own data):
the request form, the page that says to check your email, the request's own page reached
through the emailed link (confirm, then follow its status and download the export), the
download, and the consent withdrawal link. The schema of the host decides whose request it is.

For owners and admins (`privacy.manage`), on an organisation's host: the privacy inbox, each
request with its actions and history, and the retention setting. NexusCore's own requests are
worked in the staff admin.

The form answers the same whatever the address: it never looks up what is held, so it cannot
tell anyone who is a contact. It is rate limited per address, as the contact form is.
"""

from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from nexuscore.audit.models import Event, record_event
from nexuscore.lib.htmx import is_partial
from nexuscore.lib.ratelimit import RateLimit, client_address
from nexuscore.lib.storage import file_response
from nexuscore.privacy import actions
from nexuscore.privacy.consent import read_withdrawal_token, withdraw_consent
from nexuscore.privacy.forms import DeclineForm, PrivacyRequestForm, RetentionForm
from nexuscore.privacy.models import DSARRequest
from nexuscore.privacy.tasks import RETENTION_KEY, retention_months
from tenants.decorators import require_permission

# Requests one address may file, and requests about one email address, in ten minutes, counted
# across every host: each request sends a confirmation email.
REQUESTS = RateLimit("privacy-request", limit=5, window=10 * 60)


def _organisation(request) -> str:
    return "NexusCore" if request.tenant.is_public else request.tenant.name


def _person_context(request, **context) -> dict:
    return {"organisation": _organisation(request), **context}


# --- For anyone --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def request_form(request):
    form = PrivacyRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.filled_honeypot():
            return redirect("privacy:request_sent")
        if form.is_valid():
            email = form.cleaned_data["email"]
            if not REQUESTS.attempt(ip=client_address(request), email=email):
                form.add_error(
                    None,
                    "Several requests came from you or for this address in the last few "
                    "minutes, so we cannot accept another just now. Please try again in ten "
                    "minutes.",
                )
            else:
                actions.file_request(
                    email=email,
                    request_type=form.cleaned_data["request_type"],
                    details=form.cleaned_data["details"],
                    correction=form.correction(),
                )
                return redirect("privacy:request_sent")
    status = 429 if form.non_field_errors() else 200
    context = _person_context(request, form=form)
    return render(request, "privacy/request_form.html", context, status=status)


@require_GET
def request_sent(request):
    return render(request, "privacy/request_sent.html", _person_context(request))


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def request_status(request, token):
    """The request's own page, reached through the emailed link: a button to confirm it, then
    its status (with the export's progress and download)."""
    dsar = DSARRequest.objects.for_token(token).first()
    if dsar is None:
        raise Http404("No request has this link.")
    if dsar.link_has_expired():
        context = _person_context(request, dsar=dsar)
        return render(request, "privacy/link_expired.html", context, status=410)
    if request.method == "POST":
        actions.confirm_request(dsar)  # a second press changes nothing
        return redirect("privacy:request_status", token=token)
    download = actions.download_token(dsar) if dsar.export_is_available() else None
    context = _person_context(request, dsar=dsar, token=token, download=download)
    template = "privacy/request_status.html"
    if is_partial(request):
        template += "#status"
    return render(request, template, context)


@require_GET
def download(request, token):
    """The export archive, through a signed link that works for EXPORT_DAYS, on this host."""
    request_id = actions.read_download_token(token)
    dsar = DSARRequest.objects.filter(pk=request_id).first() if request_id else None
    if dsar is None:
        raise Http404("No export has this link.")
    if not dsar.export_is_available():
        return render(
            request, "privacy/link_expired.html", _person_context(request, dsar=dsar), status=410
        )
    record_event("privacy.export_downloaded", data={"request": str(dsar.pk)})
    # An archive can hold years of one person's history: from a bucket the browser fetches it
    # through a URL signed for minutes rather than holding a web worker for the download.
    return file_response(
        dsar.export_file,
        filename=f"personal-data-{timezone.localdate():%Y-%m-%d}.zip",
        content_type="application/zip",
        signed_redirect=True,
    )


@require_http_methods(["GET", "POST"])
def withdraw(request, token):
    """The withdrawal link in every email to a lead: one click withdraws consent."""
    email = read_withdrawal_token(token)
    if email is None:
        raise Http404("This link is not valid.")
    done = False
    if request.method == "POST":
        withdraw_consent(email, via="link")
        done = True
    return render(request, "privacy/withdraw.html", _person_context(request, done=done))


# --- The privacy inbox (owners and admins of an organisation) ----------------------------------


def _get_request_for_manager(request, pk) -> DSARRequest:
    """The request with this id in the host's organisation (the schema keeps others out)."""
    if request.tenant.is_public:
        raise Http404("NexusCore's own requests are worked in the staff admin.")
    return get_object_or_404(DSARRequest.objects.select_related("deletion_approved_by"), pk=pk)


INBOX_TABS = {
    "open": ("To do", Q(status__in=DSARRequest.OPEN_STATUSES)),
    "unconfirmed": ("Not confirmed", Q(status=DSARRequest.Status.UNVERIFIED)),
    "closed": (
        "Done",
        Q(
            status__in=[
                DSARRequest.Status.COMPLETED,
                DSARRequest.Status.REJECTED,
                DSARRequest.Status.EXPIRED,
            ]
        ),
    ),
}


@require_GET
@require_permission("privacy.manage")
def inbox(request):
    if request.tenant.is_public:
        raise Http404("NexusCore's own requests are worked in the staff admin.")
    tab = request.GET.get("show", "open")
    if tab not in INBOX_TABS:
        tab = "open"
    rows = DSARRequest.objects.filter(INBOX_TABS[tab][1])
    rows = rows.order_by("due_at", "-requested_at") if tab == "open" else rows
    now = timezone.now()
    requests = list(rows[:200])
    for dsar in requests:
        dsar.left = dsar.days_left(now)
        dsar.overdue = dsar.is_overdue(now)
        dsar.overdue_by = dsar.days_overdue(now)
    counts = {key: DSARRequest.objects.filter(q).count() for key, (_, q) in INBOX_TABS.items()}
    tabs = [(key, label, counts[key]) for key, (label, _) in INBOX_TABS.items()]
    context = {"requests": requests, "tab": tab, "tabs": tabs}
    return render(request, "privacy/inbox.html", context)


@require_GET
@require_permission("privacy.manage")
@vary_on_headers("HX-Request")
def request_detail(request, pk):
    dsar = _get_request_for_manager(request, pk)
    template = "privacy/request_detail.html"
    if is_partial(request):
        template += "#progress"
    history = Event.objects.filter(data__request=str(dsar.pk)).select_related("actor")
    context = {
        "dsar": dsar,
        "history": history.order_by("created_at"),
        "left": dsar.days_left(),
        "overdue": dsar.is_overdue(),
        "decline_form": DeclineForm(),
    }
    if dsar.request_type == DSARRequest.Type.DELETION:
        context.update(_deletion_steps(request, dsar))
    return render(request, template, context)


def _alone_in_privacy_team(request) -> bool:
    """Whether the person is the organisation's only owner or admin (who then takes both of
    a deletion's steps)."""
    return not actions.privacy_team(request.tenant).exclude(pk=request.user.pk).exists()


def _deletion_steps(request, dsar) -> dict:
    """For a deletion's page: what would be anonymised, whether this person is the only owner
    or admin, and once it is approved, who may carry it out and whether they are among them."""
    approved = dsar.status == DSARRequest.Status.APPROVED
    may_carry_out = actions.who_may_carry_out(dsar) if approved else []
    return {
        "preview": actions.deletion_preview(dsar),
        "alone": _alone_in_privacy_team(request),
        "approved_by_you": approved and dsar.deletion_approved_by_id == request.user.pk,
        "may_carry_out": may_carry_out,
        "you_may_carry_out": request.user in may_carry_out,
    }


def _step(request, pk, step, done_message, **kwargs):
    dsar = _get_request_for_manager(request, pk)
    try:
        step(dsar, actor=request.user, **kwargs)
    except actions.NotAllowedNow as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, done_message)
    return redirect(dsar)


@require_POST
@require_permission("privacy.manage")
def retry_export(request, pk):
    return _step(request, pk, actions.start_export, "The export is being prepared again.")


@require_POST
@require_permission("privacy.manage")
def approve_deletion(request, pk):
    if _alone_in_privacy_team(request):
        done = "Deletion approved. Check what will be anonymised, then carry it out."
    else:
        done = "Deletion approved. Another owner or admin must now check it and carry it out."
    return _step(request, pk, actions.approve_deletion, done)


@require_POST
@require_permission("privacy.manage")
def carry_out_deletion(request, pk):
    return _step(
        request,
        pk,
        actions.carry_out_deletion,
        "Done: the person's details are anonymised and they have been told.",
    )


@require_POST
@require_permission("privacy.manage")
def apply_correction(request, pk):
    return _step(request, pk, actions.apply_correction, "Corrected, and the person has been told.")


@require_POST
@require_permission("privacy.manage")
def decline(request, pk):
    dsar = _get_request_for_manager(request, pk)
    form = DeclineForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["reason"][0])
        return redirect(dsar)
    return _step(
        request, pk, actions.reject_request, "Declined; the person has been told why.",
        reason=form.cleaned_data["reason"],
    )  # fmt: skip


@require_POST
@require_permission("privacy.manage")
def retention(request):
    """The retention section of the settings page posts here."""
    if request.tenant.is_public:
        raise Http404()
    form = RetentionForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["months"][0])
        return redirect("organisation_settings")
    tenant = request.tenant
    months = form.cleaned_data["months"]
    if months != retention_months(tenant):
        tenant.settings = {**(tenant.settings or {}), RETENTION_KEY: months}
        tenant.save(update_fields=["settings", "updated_at"])
        record_event("privacy.retention_changed", actor=request.user, data={"months": months})
        messages.success(
            request,
            f"Lost and unconverted leads are now kept for {months} months."
            if months
            else "Leads are now kept until someone deletes them.",
        )
    else:
        messages.info(request, "The retention period had not changed.")
    return redirect("organisation_settings")

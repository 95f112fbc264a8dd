"""The leads pages of an organisation's host: list, detail, create and edit, bulk actions,
CSV import and export, and the website form's settings.

Viewers read; members manage (create, edit, status, assignment, notes, follow-ups); owners and
admins also delete and import. Every list region that HTMX swaps is a template partial, and every
action also works as a plain form post.
"""

import contextlib
import uuid
from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import DateTimeField, ExpressionWrapper, F, Value
from django.db.models.functions import Concat
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from nexuscore.audit.models import Event, record_event
from nexuscore.leads import actions, imports
from nexuscore.leads.forms import (
    AssignForm,
    BulkForm,
    CaptureFormSettingsForm,
    FollowUpForm,
    LeadFilterForm,
    LeadForm,
    LeadImportUploadForm,
    NoteForm,
    StatusForm,
    member_queryset,
)
from nexuscore.leads.models import CaptureForm, Lead, LeadImport
from nexuscore.lib import csv as safe_csv
from nexuscore.lib.htmx import is_partial, render_page
from nexuscore.lib.storage import file_response
from nexuscore.quotas.models import QuotaExceeded
from tenants.decorators import require_permission
from tenants.hosts import tenant_url
from tenants.middleware import current_membership
from tenants.tasks import enqueue_in_schema

PAGE_SIZE = 25


def _get_lead_for_member(request, pk) -> Lead:
    """The lead with this id in the host's organisation (the schema keeps others out): 404
    otherwise."""
    return get_object_or_404(Lead.objects.select_related("assigned_to"), pk=pk)


def _get_import_for_admin(request, pk) -> LeadImport:
    return get_object_or_404(LeadImport, pk=pk)


def _can(request) -> dict:
    membership = current_membership(request)
    return {
        "can_manage": membership.has_permission("leads.manage"),
        "can_delete": membership.has_permission("leads.delete"),
    }


# --- Pages -------------------------------------------------------------------------------------


def _sorted_without_index(name: str):
    """The same order as `name`, as an expression no index matches."""
    descending, field = name.startswith("-"), name.lstrip("-")
    if field == "id":
        return F(field).desc() if descending else F(field).asc()
    if field in ("created_at", "next_follow_up"):
        expression = ExpressionWrapper(F(field) + timedelta(0), output_field=DateTimeField())
    else:
        expression = Concat(F(field), Value(""))
    return expression.desc() if descending else expression.asc()


class LeadPaginator(Paginator):
    """Pages of leads that stay fast at 100,000.

    It counts at most `cap` leads (counting all of them costs more than the page itself; beyond
    the cap the page says "more than 10,000"). A search counts to SEARCH_COUNT_CAP only: its
    matches are counted by reading them. When a search matches fewer than its cap, the page is
    fetched through the search index and the matches sorted: PostgreSQL cannot estimate prefix
    searches and would otherwise walk the whole list in order looking for a rare name.
    """

    COUNT_CAP = 10_000
    SEARCH_COUNT_CAP = 1_000

    def __init__(self, leads, per_page, *, ordering, searching):
        super().__init__(leads, per_page)
        self.ordering, self.searching = ordering, searching
        self.cap = self.SEARCH_COUNT_CAP if searching else self.COUNT_CAP

    @cached_property
    def count(self):
        return self.object_list.order_by()[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page if self.capped else min(bottom + self.per_page, self.count)
        leads = self.object_list
        if self.searching and not self.capped:
            leads = leads.order_by(*[_sorted_without_index(name) for name in self.ordering])
        return self._get_page(leads[bottom:top], number, self)


# --- Rows --------------------------------------------------------------------------------------


_ANY_ID = uuid.UUID(int=0)


def _prepare_rows(leads):
    """Give each lead what its row shows, ready to print: its addresses, its assignee's name and
    its dates in the organisation's time. A row shows the status and assignee as text; clicking
    one asks for its editor (a small HTMX request, or the plain page without JavaScript), so the
    list carries no <select> with every option in every row."""
    now = timezone.now()
    # Each address reversed once per page, its lead's id put in by hand (reverse() per row was
    # a tenth of the list's time).
    detail, status, assign = (
        reverse(name, args=[_ANY_ID]).split(str(_ANY_ID))
        for name in ("leads:detail", "leads:status", "leads:assign")
    )
    for lead in leads:
        lead.key = key = str(lead.pk)
        lead.url = key.join(detail)
        lead.status_url = key.join(status)
        lead.assign_url = key.join(assign)
        lead.assignee_name = (
            (lead.assigned_to.name or lead.assigned_to.email) if lead.assigned_to_id else ""
        )
        created = timezone.localtime(lead.created_at)
        lead.created_iso = created.isoformat()
        lead.created_label = f"{created.day} {created:%b %Y}"
        lead.follow_up_label = lead.follow_up_iso = ""
        lead.overdue = False
        if lead.next_follow_up:
            follow_up = timezone.localtime(lead.next_follow_up)
            lead.follow_up_iso = follow_up.isoformat()
            lead.follow_up_label = f"{follow_up.day} {follow_up:%b, %H:%M}"
            lead.overdue = lead.next_follow_up <= now and not lead.is_closed
    return leads


def _assignee_choices(members, lead=None) -> list[tuple[str, str]]:
    """Who a lead can be given to: nobody, or a member; with its current assignee kept when they
    have since left the organisation."""
    choices = [("", "Nobody")] + [(str(user.pk), user.name or user.email) for user in members]
    if lead is not None and lead.assigned_to_id:
        key = str(lead.assigned_to_id)
        if all(value != key for value, _ in choices):
            former = lead.assigned_to
            choices.append((key, f"{former.name or former.email} (left)"))
    return choices


def _row_response(request, lead):
    lead = _get_lead_for_member(request, lead.pk)
    _prepare_rows([lead])
    context = {"lead": lead, **_can(request)}
    return render(request, "app/leads/list.html#row", context)


FILTER_SELECTS = ("status", "source", "assigned", "due")
LIST_COLUMNS = (
    "id", "name", "email", "phone", "company", "status", "source", "next_follow_up",
    "created_at", "assigned_to", "assigned_to__name", "assigned_to__email",
)  # fmt: skip


def _filtered_leads(request, members):
    form = LeadFilterForm(request.GET, members=members)
    leads = form.filter(
        Lead.objects.select_related("assigned_to"), user=request.user, tenant=request.tenant
    )
    return form, leads


# --- List, export, bulk ------------------------------------------------------------------------


@require_GET
@require_permission("leads.view")
@vary_on_headers("HX-Request")
def lead_list(request):
    members = list(member_queryset(request.tenant))
    form, leads = _filtered_leads(request, members)
    paginator = LeadPaginator(
        leads.only(*LIST_COLUMNS),
        PAGE_SIZE,
        ordering=form.ordering(),
        searching=bool(form.cleaned_data.get("q")),
    )
    page = paginator.get_page(request.GET.get("page"))
    _prepare_rows(page.object_list)
    sort = form.cleaned_data.get("sort") or "-created"
    context = {
        "form": form,
        "page": page,
        "leads": page.object_list,
        # The filters' values as the request gave them, for the selects to mark.
        "chosen": {
            name: form[name].value() or "" for name in ("status", "source", "assigned", "due")
        },
        "status_choices": Lead.Status.choices,
        "member_choices": _assignee_choices(members)[1:],
        "filtered": any(request.GET.get(name) for name in form.fields if name != "sort"),
        "sort": sort,
        "query_string": request.GET.urlencode(),
        **_can(request),
    }
    return render_page(request, "app/leads/list.html", context, partial="results")


class _Echo:
    """A file-like object whose write() returns what it was given, for csv.writer to stream."""

    def write(self, value):
        return value


EXPORT_COLUMNS = [
    ("name", "Name"), ("email", "Email"), ("phone", "Phone"), ("company", "Company"),
    ("job_title", "Job title"), ("status", "Status"), ("lost_reason", "Lost reason"),
    ("source", "Source"), ("assigned_to__email", "Assigned to"),
    ("next_follow_up", "Next follow-up"), ("converted_at", "Converted at"),
    ("utm_source", "UTM source"), ("utm_medium", "UTM medium"), ("utm_campaign", "UTM campaign"),
    ("utm_term", "UTM term"), ("utm_content", "UTM content"),
    ("consent_given_at", "Consent given at"), ("created_at", "Created at"),
]  # fmt: skip


def _export_lines(leads, zone):
    writer = safe_csv.writer(_Echo())
    # The byte order mark makes Excel read the file as UTF-8.
    yield "\ufeff" + writer.writerow([label for _, label in EXPORT_COLUMNS])
    fields = [field for field, _ in EXPORT_COLUMNS]
    for row in leads.values_list(*fields).iterator(chunk_size=2000):
        yield writer.writerow(
            [
                value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
                if hasattr(value, "astimezone")
                else ("" if value is None else value)
                for value in row
            ]
        )


@require_GET
@require_permission("leads.manage")
def lead_export(request):
    """The current filtered list as CSV, streamed: memory stays flat however many leads."""
    members = list(member_queryset(request.tenant))
    _form, leads = _filtered_leads(request, members)
    record_event(
        "leads.exported", actor=request.user, data={"filters": request.GET.urlencode()[:500]}
    )
    zone = request.tenant.zone
    stamp = timezone.now().astimezone(zone).strftime("%Y-%m-%d")
    response = StreamingHttpResponse(
        _export_lines(leads, zone), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
    return response


@require_POST
@require_permission("leads.manage")
def lead_bulk(request):
    """Assign, change the status of, or delete the ticked leads. Deleting asks to confirm
    first (owners and admins only)."""
    form = BulkForm(request.POST, tenant=request.tenant)
    back = reverse("leads:list") + (
        "?" + request.POST["query_string"] if request.POST.get("query_string") else ""
    )
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _back(request, back)
    leads = Lead.objects.filter(pk__in=form.cleaned_data["leads"])
    action = form.cleaned_data["action"]
    if action == "delete":
        if not current_membership(request).has_permission("leads.delete"):
            messages.error(request, "Only owners and admins can delete leads.")
            return _back(request, back)
        if not form.cleaned_data["confirm"]:
            context = {"leads": leads.order_by("name")[:50], "count": leads.count(), "back": back}
            context["ids"] = [str(pk) for pk in form.cleaned_data["leads"]]
            if request.htmx:
                return HttpResponseClientRedirect(
                    reverse("leads:bulk_confirm") + "?" + _ids_query(context["ids"], back)
                )
            return render(request, "app/leads/confirm_delete.html", context)
        count = actions.delete_leads(leads, actor=request.user)
        messages.success(request, f"Deleted {count} lead{'s' if count != 1 else ''}.")
        return _back(request, back)
    count = 0
    for lead in leads.select_related("assigned_to"):
        if action == "assign":
            count += actions.assign_lead(lead, form.cleaned_data["assigned_to"], actor=request.user)
        else:
            count += actions.change_status(
                lead,
                form.cleaned_data["status"],
                actor=request.user,
                lost_reason=form.cleaned_data["lost_reason"],
            )
    messages.success(request, f"Updated {count} lead{'s' if count != 1 else ''}.")
    return _back(request, back)


def _ids_query(ids, back) -> str:
    from urllib.parse import urlencode

    return urlencode([("leads", pk) for pk in ids] + [("back", back)])


@require_GET
@require_permission("leads.delete")
def lead_bulk_confirm(request):
    """The confirmation page for a bulk delete started from the HTMX list."""
    ids = []
    for value in request.GET.getlist("leads"):
        try:
            ids.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    leads = Lead.objects.filter(pk__in=ids)
    back = request.GET.get("back", "")
    if not back.startswith("/leads/"):
        back = reverse("leads:list")
    context = {"leads": leads.order_by("name")[:50], "count": leads.count(), "ids": ids}
    return render(request, "app/leads/confirm_delete.html", {**context, "back": back})


def _back(request, url):
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


# --- One lead ----------------------------------------------------------------------------------


def _timeline(lead):
    """The lead's history, newest first: its audit events, with notes' text beside them."""
    events = list(
        Event.objects.filter(event_type__startswith="lead.", data__lead=str(lead.id))
        .select_related("actor")
        .order_by("-created_at")[:200]
    )
    notes = {str(note.id): note for note in lead.lead_notes.select_related("author")}
    for event in events:
        event.note = notes.get(event.data.get("note"))
    if not any(event.event_type == "lead.created" for event in events):
        # Imported and seeded leads have no creation event: their own timestamp stands in.
        events.append(
            Event(event_type="lead.created", created_at=lead.created_at, data={"lead": lead.id})
        )
    return events


@require_GET
@require_permission("leads.view")
def lead_detail(request, pk):
    lead = _get_lead_for_member(request, pk)
    follow_up_initial = {}
    if lead.next_follow_up:
        local = timezone.localtime(lead.next_follow_up)
        follow_up_initial = {"day": local.date(), "at": local.time()}
    context = {
        "lead": lead,
        "timeline": _timeline(lead),
        "note_form": NoteForm(),
        "status_form": StatusForm(initial={"status": lead.status, "lost_reason": lead.lost_reason}),
        "assign_form": AssignForm(
            tenant=request.tenant, initial={"assigned_to": lead.assigned_to_id}
        ),
        "follow_up_form": FollowUpForm(initial=follow_up_initial),
        "now": timezone.now(),
        **_can(request),
    }
    return render(request, "app/leads/detail.html", context)


@require_http_methods(["GET", "POST"])
@require_permission("leads.manage")
def lead_create(request):
    form = LeadForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in LeadForm.Meta.fields}
        try:
            lead = actions.create_lead(request.tenant, actor=request.user, **fields)
        except QuotaExceeded as error:
            return render(
                request,
                "app/leads/form.html",
                {"form": form, "quota_error": str(error), "creating": True},
            )
        messages.success(request, f"Added {lead.name}.")
        return redirect(lead)
    return render(request, "app/leads/form.html", {"form": form, "creating": True})


@require_http_methods(["GET", "POST"])
@require_permission("leads.manage")
def lead_edit(request, pk):
    lead = _get_lead_for_member(request, pk)
    before = {name: getattr(lead, name) for name in LeadForm.Meta.fields}
    form = LeadForm(request.POST or None, instance=lead, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        actions.update_lead(form.save(commit=False), actor=request.user, before=before)
        messages.success(request, f"Saved {lead.name}.")
        return redirect(lead)
    return render(request, "app/leads/form.html", {"form": form, "lead": lead})


@require_http_methods(["GET", "POST"])
@require_permission("leads.manage")
def lead_status(request, pk):
    """Change the status. From the list's inline select, a change to Lost without a reason
    comes here to ask for one."""
    lead = _get_lead_for_member(request, pk)
    if request.method == "GET":
        if is_partial(request):  # the list's status cell, clicked: its editor
            _prepare_rows([lead])
            context = {"lead": lead, "status_choices": Lead.Status.choices}
            return render(request, "app/leads/list.html#status_editor", context)
        initial = {"status": request.GET.get("status") or lead.status}
        form = StatusForm(initial={**initial, "lost_reason": lead.lost_reason})
        return render(request, "app/leads/status.html", {"lead": lead, "form": form})
    form = StatusForm(request.POST)
    if not form.is_valid():
        if is_partial(request) and request.POST.get("inline"):
            status = request.POST.get("status", "")
            query = f"?status={status}" if status in Lead.Status.values else ""
            return HttpResponseClientRedirect(reverse("leads:status", args=[lead.pk]) + query)
        return render(request, "app/leads/status.html", {"lead": lead, "form": form})
    changed = actions.change_status(
        lead,
        form.cleaned_data["status"],
        actor=request.user,
        lost_reason=form.cleaned_data["lost_reason"],
    )
    if changed:
        messages.success(request, f"{lead.name} is now {lead.get_status_display()}.")
    if is_partial(request) and request.POST.get("inline"):
        return _row_response(request, lead)
    return redirect(lead)


@require_http_methods(["GET", "POST"])
@require_permission("leads.manage")
def lead_assign(request, pk):
    lead = _get_lead_for_member(request, pk)
    if request.method == "GET":
        _prepare_rows([lead])
        choices = _assignee_choices(member_queryset(request.tenant), lead)
        context = {"lead": lead, "assignee_choices": choices}
        template = "app/leads/list.html#assignee_editor" if is_partial(request) else None
        return render(request, template or "app/leads/assign.html", context)
    form = AssignForm(request.POST, tenant=request.tenant)
    if not form.is_valid():
        messages.error(request, "Choose someone from your organisation.")
    elif actions.assign_lead(lead, form.cleaned_data["assigned_to"], actor=request.user):
        assignee = form.cleaned_data["assigned_to"]
        name = (assignee.name or assignee.email) if assignee else "nobody"
        messages.success(request, f"{lead.name} is assigned to {name}.")
    if is_partial(request) and request.POST.get("inline"):
        return _row_response(request, lead)
    return redirect(lead)


@require_POST
@require_permission("leads.manage")
def lead_note(request, pk):
    lead = _get_lead_for_member(request, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        actions.add_note(lead, form.cleaned_data["text"], actor=request.user)
        messages.success(request, "Note added.")
        return redirect(lead)
    messages.error(request, form.errors["text"][0])
    return redirect(lead)


@require_POST
@require_permission("leads.manage")
def lead_follow_up(request, pk):
    lead = _get_lead_for_member(request, pk)
    form = FollowUpForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, f"Follow-up not saved: {errors[0]}")
        return redirect(lead)
    when = form.follow_up_at(request.tenant)
    actions.set_follow_up(lead, when, actor=request.user)
    if when:
        messages.success(request, f"Follow-up set for {timezone.localtime(when):%-d %b %Y, %H:%M}.")
    else:
        messages.success(request, "Follow-up cleared.")
    return redirect(lead)


@require_POST
@require_permission("leads.manage")
def lead_convert(request, pk):
    lead = _get_lead_for_member(request, pk)
    if actions.convert_lead(lead, actor=request.user):
        messages.success(request, f"{lead.name} is converted: status Won.")
    else:
        messages.info(request, f"{lead.name} was already converted.")
    return redirect(lead)


@require_http_methods(["GET", "POST"])
@require_permission("leads.delete")
def lead_delete(request, pk):
    lead = _get_lead_for_member(request, pk)
    if request.method == "POST":
        actions.delete_leads(Lead.objects.filter(pk=lead.pk), actor=request.user)
        messages.success(request, f"Deleted {lead.name}.")
        return redirect("leads:list")
    context = {"leads": [lead], "count": 1, "ids": [str(lead.pk)], "back": lead.get_absolute_url()}
    return render(request, "app/leads/confirm_delete.html", {**context, "single": lead})


@require_GET
@require_permission("leads.manage")
def lead_email_check(request):
    """The duplicate-email warning while the create form is filled in (an HTMX partial)."""
    email = request.GET.get("email", "").strip().lower()
    exclude = request.GET.get("lead", "")
    duplicate = None
    if email:
        others = Lead.objects.filter(email=email)
        with contextlib.suppress(ValueError):
            others = others.exclude(pk=uuid.UUID(exclude)) if exclude else others
        duplicate = others.only("id", "name").first()
    return render(request, "app/leads/form.html#duplicate", {"duplicate": duplicate})


# --- Website form settings ---------------------------------------------------------------------


def contact_form() -> CaptureForm:
    """The organisation's website form, created with the standard settings on first use."""
    form, _ = CaptureForm.objects.get_or_create(slug="contact")
    return form


@require_http_methods(["GET", "POST"])
@require_permission("leads.view")
def website_form(request):
    capture = contact_form()
    can_edit = current_membership(request).has_permission("forms.manage")
    form = CaptureFormSettingsForm(request.POST or None, instance=capture, tenant=request.tenant)
    if request.method == "POST":
        if not can_edit:
            return render(
                request, "errors/forbidden.html", {"permission": "forms.manage"}, status=403
            )
        old_text = capture.consent_text
        if form.is_valid():
            capture = form.save(commit=False)
            if capture.consent_text != old_text:
                capture.consent_version = str(int(capture.consent_version or "0") + 1)
            capture.save()
            record_event(
                "leads.website_form_changed",
                actor=request.user,
                data={"form": capture.slug, "consent_version": capture.consent_version},
            )
            messages.success(request, "Website form saved.")
            return redirect("leads:website_form")
    capture_url = tenant_url(request, request.tenant, reverse("capture", args=[capture.slug]))
    context = {
        "capture": capture,
        "capture_url": capture_url,
        "consent_text": capture.consent_text_for(request.tenant.name),
        "form": form,
        "can_edit": can_edit,
    }
    return render(request, "app/leads/website_form.html", context)


# --- CSV import --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@require_permission("leads.import")
def import_upload(request):
    form = LeadImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            lead_import = imports.start_import(
                form.cleaned_data["file"], form.cleaned_data["duplicates"], user=request.user
            )
        except imports.UnreadableFile as error:
            form.add_error("file", str(error))
        else:
            return redirect("leads:import_map", pk=lead_import.pk)
    recent = LeadImport.objects.select_related("created_by")[:5]
    return render(request, "app/leads/import_upload.html", {"form": form, "recent": recent})


@require_http_methods(["GET", "POST"])
@require_permission("leads.import")
def import_map(request, pk):
    lead_import = _get_import_for_admin(request, pk)
    if lead_import.status != LeadImport.Status.UPLOADED:
        return redirect(lead_import)
    try:
        preview = imports.preview(lead_import)
    except imports.UnreadableFile as error:
        # Uploaded before the whole file was checked at upload: its page says what is wrong.
        imports.fail(lead_import, str(error))
        return redirect(lead_import)
    form = imports.MappingForm(request.POST or None, lead_import=lead_import)
    if request.method == "POST" and form.is_valid():
        lead_import.mapping = form.mapping()
        lead_import.status = LeadImport.Status.QUEUED
        lead_import.save(update_fields=["mapping", "status"])
        record_event(
            "leads.import_started",
            actor=request.user,
            data={"import": str(lead_import.pk), "file": lead_import.original_name},
        )
        enqueue_in_schema(
            connection.schema_name, "nexuscore.leads.imports.run_import", str(lead_import.pk)
        )
        return redirect(lead_import)
    context = {"lead_import": lead_import, "form": form, "preview": preview}
    return render(request, "app/leads/import_map.html", context)


@require_GET
@require_permission("leads.import")
@vary_on_headers("HX-Request")
def import_progress(request, pk):
    lead_import = _get_import_for_admin(request, pk)
    template = "app/leads/import_progress.html"
    if is_partial(request):
        template += "#progress"
    return render(request, template, {"lead_import": lead_import})


@require_GET
@require_permission("leads.import")
def import_report(request, pk):
    """The rejected rows and why, as CSV: streamed here (with the permission check), never from
    a public media URL. Reports are small, so even from a bucket no signed URL is handed out."""
    lead_import = _get_import_for_admin(request, pk)
    if not lead_import.report:
        raise Http404("This import rejected no rows.")
    name = lead_import.original_name.rsplit(".", 1)[0]
    return file_response(
        lead_import.report, filename=f"{name}-rejected-rows.csv", content_type="text/csv"
    )

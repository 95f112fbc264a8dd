"""CSV import of leads: reading odd files, mapping columns, and the task that imports.

Files come from Excel (cp1252, often with semicolons), Google Sheets and other CRMs (UTF-8,
sometimes with a byte order mark). The encoding and delimiter are guessed once at upload and
kept on the LeadImport. The task works in chunks, each in one transaction with its progress,
its counts and its rejected rows, so a redelivered task resumes where the last one stopped
rather than importing twice, and the report still lists the rows rejected before a crash.
"""

import codecs
import csv
import io

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import connection, models, transaction
from django.db.models import F, Func, Value
from django.utils import timezone

from nexuscore.audit.models import record_event
from nexuscore.leads.forms import normalise_phone
from nexuscore.leads.models import Lead, LeadImport
from nexuscore.quotas.models import QuotaExceeded, check_quota, record_usage

CHUNK_ROWS = 1000
SAMPLE_BYTES = 64 * 1024
PREVIEW_ROWS = 5

# Lead fields a column may fill, with the header names that suggest them.
TARGETS = {
    "name": ("Name", ["name", "full name", "contact", "contact name"]),
    "first_name": ("First name", ["first name", "firstname", "given name"]),
    "last_name": ("Last name", ["last name", "lastname", "surname", "family name"]),
    "email": ("Email", ["email", "e-mail", "email address", "mail"]),
    "phone": ("Phone", ["phone", "mobile", "telephone", "tel", "phone number", "contact number"]),
    "company": ("Company", ["company", "organisation", "organization", "company name"]),
    "job_title": ("Job title", ["job title", "title", "position", "role", "designation"]),
    "source": ("Source", ["source", "lead source"]),
    "status": ("Status", ["status", "stage", "lead status"]),
    "notes": ("Notes", ["notes", "note", "comments", "remarks"]),
    "utm_source": ("UTM source", ["utm_source", "utm source"]),
    "utm_medium": ("UTM medium", ["utm_medium", "utm medium"]),
    "utm_campaign": ("UTM campaign", ["utm_campaign", "utm campaign", "campaign"]),
    "utm_term": ("UTM term", ["utm_term", "utm term"]),
    "utm_content": ("UTM content", ["utm_content", "utm content"]),
}
MAX_LENGTHS = {
    field.name: field.max_length
    for field in Lead._meta.get_fields()
    if getattr(field, "max_length", None)
}


class UnreadableFile(ValueError):
    pass


def sniff(sample: bytes) -> tuple[str, str]:
    """The encoding and the delimiter of a CSV file, from its first bytes."""
    if sample.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        try:
            sample.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError as error:
            # The sample may end in the middle of a character; only an error before that
            # means the file is not UTF-8.
            encoding = "utf-8" if error.start >= len(sample) - 3 else "cp1252"
    first_line = sample.decode(encoding, errors="ignore").splitlines()[0] if sample else ""
    delimiter = max([",", ";", "\t"], key=first_line.count)
    return encoding, delimiter


def _rows(lead_import: LeadImport):
    with lead_import.file.open("rb") as handle:
        text = io.TextIOWrapper(handle, encoding=lead_import.encoding, newline="")
        yield from csv.reader(text, delimiter=lead_import.delimiter)


def start_import(upload, duplicates: str, *, user) -> LeadImport:
    """Keep the uploaded file and read its header; raises UnreadableFile with the reason."""
    sample = upload.read(SAMPLE_BYTES)
    upload.seek(0)
    encoding, delimiter = sniff(sample)
    try:
        text = sample.decode(encoding, errors="ignore")
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    except csv.Error as error:
        raise UnreadableFile(f"This is not a CSV file we can read ({error}).") from None
    header = [column.strip() for column in header]
    if not any(header):
        raise UnreadableFile("The first row should name the columns, but it is empty.")
    if b"\x00" in sample:
        raise UnreadableFile(
            "This looks like a spreadsheet, not CSV. In Excel, use File, Save As, CSV."
        )
    lead_import = LeadImport(
        created_by=user,
        original_name=upload.name[:255],
        encoding=encoding,
        delimiter=delimiter,
        headers=header,
        duplicates=duplicates,
    )
    lead_import.mapping = guess_mapping(header)
    lead_import.file.save(f"{lead_import.pk}.csv", upload, save=False)
    lead_import.save()
    return lead_import


def guess_mapping(header: list[str]) -> dict[str, str]:
    mapping, taken = {}, set()
    for index, column in enumerate(header):
        name = column.strip().lower().replace("_", " ")
        for field, (_, synonyms) in TARGETS.items():
            candidates = {synonym.replace("_", " ") for synonym in synonyms}
            if name in candidates and field not in taken:
                mapping[str(index)] = field
                taken.add(field)
                break
    return mapping


def preview(lead_import: LeadImport) -> list[list[str]]:
    rows = []
    for number, row in enumerate(_rows(lead_import)):
        if number == 0:
            continue
        rows.append(row + [""] * (len(lead_import.headers) - len(row)))
        if len(rows) == PREVIEW_ROWS:
            break
    return rows


class MappingForm(forms.Form):
    """One select per column of the file: which lead field it fills, if any."""

    def __init__(self, *args, lead_import: LeadImport, **kwargs):
        super().__init__(*args, **kwargs)
        self.lead_import = lead_import
        choices = [("", "Do not import")] + [(key, label) for key, (label, _) in TARGETS.items()]
        for index, column in enumerate(lead_import.headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                choices=choices,
                required=False,
                label=column or f"Column {index + 1}",
                initial=lead_import.mapping.get(str(index), ""),
            )

    def clean(self):
        cleaned = super().clean()
        used = {}
        for name, field in list(cleaned.items()):
            if not field:
                continue
            if field in used:
                label = TARGETS[field][0]
                self.add_error(name, f"{label} is already filled from “{used[field]}”.")
            used[field] = self.fields[name].label
        if "name" not in used and not {"first_name", "last_name"} & set(used):
            raise ValidationError(
                "Choose the column with each person's name (or first and last name)."
            )
        return cleaned

    def mapping(self) -> dict[str, str]:
        return {
            name.removeprefix("column_"): field
            for name, field in self.cleaned_data.items()
            if field
        }


def _choice(value: str, choices) -> str | None:
    wanted = value.strip().lower()
    for key, label in choices:
        if wanted in (key, label.lower()):
            return key
    return None


def clean_row(row: list[str], mapping: dict[str, str]) -> dict:
    """The lead fields of one CSV row; raises ValidationError with the reason it is rejected."""
    values = {}
    for index, field in mapping.items():
        position = int(index)
        values[field] = row[position].strip() if position < len(row) else ""
    name = values.pop("name", "") or " ".join(
        part for part in (values.pop("first_name", ""), values.pop("last_name", "")) if part
    )
    values.pop("first_name", None)
    values.pop("last_name", None)
    values["name"] = " ".join(name.split())
    if not values["name"]:
        raise ValidationError("the name is empty")
    values["email"] = values.get("email", "").lower()
    if values["email"]:
        try:
            validate_email(values["email"])
        except ValidationError:
            raise ValidationError(f"“{values['email']}” is not an email address") from None
    if values.get("phone"):
        values["phone"] = normalise_phone(values["phone"])
    if values.get("status"):
        status = _choice(values["status"], Lead.Status.choices)
        if status is None:
            raise ValidationError(f"“{values['status']}” is not a status")
        values["status"] = status
    if values.get("source"):
        values["source"] = _choice(values["source"], Lead.Source.choices) or Lead.Source.IMPORT
    for field, value in values.items():
        limit = MAX_LENGTHS.get(field)
        if limit and len(value) > limit:
            raise ValidationError(
                f"the {field.replace('_', ' ')} is longer than {limit} characters"
            )
    return {field: value for field, value in values.items() if value != "" or field == "name"}


def run_import(import_id: str) -> None:
    """The task: import the rows not yet processed, then write the report of rejected rows.

    Safe to run twice, one after the other or at once: a finished import is left alone, and a
    half-done one resumes after the last chunk that committed. Each chunk's leads, usage, counts
    and rejected rows are written in one transaction under the import's row lock, so a crash
    (a worker killed, the database restarted) loses or repeats no part of a chunk.
    """
    from tenants.models import Tenant

    lead_import = LeadImport.objects.get(pk=import_id)
    if lead_import.is_finished:
        return
    tenant = Tenant.objects.get(schema_name=connection.schema_name)
    try:
        rows = list(_rows(lead_import))
    except (UnicodeDecodeError, csv.Error) as error:
        _fail(lead_import, f"The file could not be read: {error}")
        return
    header, body = rows[0], rows[1:]
    LeadImport.objects.filter(pk=lead_import.pk).exclude(
        status__in=[LeadImport.Status.DONE, LeadImport.Status.FAILED]
    ).update(status=LeadImport.Status.RUNNING, total=len(body))
    lead_import.refresh_from_db(fields=["processed", "mapping", "duplicates"])
    # Rows of chunks done before a crash still count as seen, for "the same email as row N".
    seen = {}
    _screen_rows(body[: lead_import.processed], 0, lead_import.mapping, seen)
    quota_reached = False
    for start in range(lead_import.processed, len(body), CHUNK_ROWS):
        chunk = body[start : start + CHUNK_ROWS]
        with transaction.atomic():
            # A second delivery running at the same time waits here, then finds the chunk done.
            current = LeadImport.objects.select_for_update().only("processed")
            if current.get(pk=lead_import.pk).processed != start:
                return  # another run of this task is further on; it finishes the import
            counts, rejected, quota_reached = _import_chunk(
                lead_import, tenant, chunk, start, seen, quota_reached
            )
            LeadImport.objects.filter(pk=lead_import.pk).update(
                processed=start + len(chunk),
                rejects=JSONConcat(F("rejects"), Value(rejected, output_field=models.JSONField())),
                **{name: F(name) + counts[name] for name in counts},
            )
    with transaction.atomic():
        lead_import = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
        if lead_import.is_finished or lead_import.processed < len(body):
            return
        if lead_import.rejects:
            _write_report(lead_import, header, sorted(lead_import.rejects, key=lambda r: r[0]))
        lead_import.status = LeadImport.Status.DONE
        lead_import.finished_at = timezone.now()
        lead_import.save(update_fields=["status", "finished_at", "report"])
        record_event(
            "leads.import_finished",
            actor=lead_import.created_by,
            data={
                "import": str(lead_import.pk),
                "file": lead_import.original_name,
                "created": lead_import.created,
                "updated": lead_import.updated,
                "skipped": lead_import.skipped,
                "rejected": lead_import.rejected,
            },
        )
    _forget_upload(lead_import)


def _forget_upload(lead_import) -> None:
    """Delete the uploaded file once every row is in: it is personal data no longer needed (the
    report keeps the rejected rows people must fix; a deletion request clears those too)."""
    if lead_import.file:
        lead_import.file.delete(save=False)
        LeadImport.objects.filter(pk=lead_import.pk).update(file="")


class JSONConcat(Func):
    """`a || b` on jsonb: appends one JSON array to another in the database."""

    arg_joiner = " || "
    template = "%(expressions)s"
    output_field = models.JSONField()


def _screen_rows(chunk, start, mapping, seen):
    """The rows of a chunk worth looking up: (blank rows, rejected rows, candidates).

    `seen` maps each email met so far in the file to its row number, and is extended.
    """
    blank, rejected, candidates = 0, [], []
    for offset, row in enumerate(chunk):
        number = start + offset + 2  # the row number a person sees in a spreadsheet
        if not any(cell.strip() for cell in row):
            blank += 1
            continue
        try:
            values = clean_row(row, mapping)
        except ValidationError as error:
            rejected.append((number, error.messages[0], row))
            continue
        email = values.get("email")
        if email and email in seen:
            rejected.append((number, f"the same email as row {seen[email]}", row))
            continue
        if email:
            seen[email] = number
        candidates.append((number, values, row))
    return blank, rejected, candidates


def _import_chunk(lead_import, tenant, chunk, start, seen, quota_reached):
    """Import one chunk of rows, inside the caller's transaction. Returns the counts, the
    rejected rows (row number, reason, row) and whether the plan's limit has been reached."""
    counts = {"created": 0, "updated": 0, "skipped": 0, "rejected": 0}
    counts["skipped"], rejected, candidates = _screen_rows(chunk, start, lead_import.mapping, seen)
    emails = [values["email"] for _, values, _ in candidates if values.get("email")]
    existing = {lead.email: lead for lead in Lead.objects.filter(email__in=emails)}
    new, updates, update_fields = [], [], set()
    for number, values, row in candidates:
        lead = existing.get(values.get("email"))
        if lead is None:
            new.append((number, values, row))
        elif lead_import.duplicates == LeadImport.Duplicates.UPDATE:
            for field, value in values.items():
                setattr(lead, field, value)
                update_fields.add(field)
            updates.append(lead)
        else:
            counts["skipped"] += 1
    if updates:
        now = timezone.now()
        for lead in updates:
            lead.updated_at = now
        Lead.objects.bulk_update(updates, sorted(update_fields | {"updated_at"}))
        counts["updated"] = len(updates)
    allowed = 0 if quota_reached else len(new)
    if new and not quota_reached:
        allowed = _count_against_plan(tenant, lead_import, len(new))
    for number, _, row in new[allowed:]:
        rejected.append((number, "plan limit reached", row))
    leads = [
        Lead(
            **{"source": Lead.Source.IMPORT, **values},
            form_data={"import": str(lead_import.pk), "row": number},
        )
        for number, values, _ in new[:allowed]
    ]
    Lead.objects.bulk_create(leads)
    counts["created"] = len(leads)
    counts["rejected"] = len(rejected)
    rejected.sort(key=lambda item: item[0])
    return counts, rejected, quota_reached or allowed < len(new)


def _count_against_plan(tenant, lead_import, wanted: int) -> int:
    """Record up to `wanted` new leads against the plan; returns how many the plan allows.

    One usage record per chunk rather than per lead: the same total, without thousands of
    round trips.
    """
    metadata = {"import": str(lead_import.pk), "source": Lead.Source.IMPORT, "leads": wanted}
    try:
        record_usage(tenant, "leads.created", amount=wanted, metadata=metadata)
        return wanted
    except QuotaExceeded:
        remaining = check_quota(tenant, "leads.created").remaining or 0
        if remaining:
            try:
                record_usage(
                    tenant,
                    "leads.created",
                    amount=remaining,
                    metadata={**metadata, "leads": remaining},
                )
            except QuotaExceeded:
                return 0
        return remaining


def rewrite_report(lead_import) -> None:
    """Write the report again from the stored rejected rows (after some were cleared), under the
    header of the first one."""
    old = lead_import.report.name
    header = lead_import.headers or []
    _write_report(lead_import, header, sorted(lead_import.rejects, key=lambda r: r[0]))
    if old and old != lead_import.report.name:
        lead_import.report.storage.delete(old)


def _write_report(lead_import, header, rejected_rows) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Row", "Reason", *header])
    for number, reason, row in rejected_rows:
        writer.writerow([number, reason, *row])
    content = ContentFile(("\ufeff" + buffer.getvalue()).encode("utf-8"))
    lead_import.report.save(f"{lead_import.pk}-rejected.csv", content, save=False)


def _fail(lead_import, message: str) -> None:
    lead_import.status = LeadImport.Status.FAILED
    lead_import.error = message
    lead_import.finished_at = timezone.now()
    lead_import.save(update_fields=["status", "error", "finished_at"])

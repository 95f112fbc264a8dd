"""CSV import of leads: reading odd files, mapping columns, and the task that imports.

Files come from Excel (cp1252, often with semicolons), Google Sheets and other CRMs (UTF-8,
sometimes with a byte order mark). The encoding and delimiter are guessed once at upload and
kept on the LeadImport. The whole file is read once at upload, so a file that cannot be read
to the end (bytes that are not text, a NUL byte, a cell longer than the csv module allows, more
columns than a list of leads has) is refused on the upload form with the line to fix, rather
than stopping its import half-way.

The task works in chunks, each in one transaction with its progress, its counts and its
rejected rows, so a redelivered task resumes where the last one stopped rather than importing
twice, and the report still lists the rows rejected before a crash. It always ends the import,
finished or failed with the reason shown on its page.
"""

import codecs
import csv
import functools
import io
import logging
from datetime import timedelta

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
from nexuscore.lib import csv as safe_csv
from nexuscore.lib.tasks import connection_lost
from nexuscore.quotas.models import QuotaExceeded, check_quota, record_usage
from tenants.tasks import enqueue_in_schema, for_each_organisation

log = logging.getLogger(__name__)

CHUNK_ROWS = 1000
SAMPLE_BYTES = 64 * 1024
PREVIEW_ROWS = 5
# A lead has 15 fields: a file with more columns than this is not a list of leads (and each
# column is a select on the mapping page).
MAX_COLUMNS = 200

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
    """The file cannot be imported; the message says why, and how to put it right."""


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
    first_line = next(iter(sample.decode(encoding, errors="ignore").splitlines()), "")
    delimiter = max([",", ";", "\t"], key=first_line.count)
    return encoding, delimiter


def _first_undecodable(lead_import: LeadImport, encoding: str) -> tuple[int, bool] | None:
    """Where the file stops being `encoding`: the line of the first byte it cannot decode, and
    whether all before it is plain ASCII. None when the whole file decodes."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line, plain_ascii = 1, True
    with lead_import.file.open("rb") as handle:
        for chunk in iter(functools.partial(handle.read, 1024 * 1024), b""):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                before = chunk[: max(error.start, 0)]
                return line + before.count(b"\n"), plain_ascii and before.isascii()
            plain_ascii = plain_ascii and chunk.isascii()
            line += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return line, False
    return None


def _encoding_of_whole_file(lead_import: LeadImport) -> str:
    """The encoding that reads all of the file. The first 64 KB chose it; when they were plain
    ASCII and a later byte is not UTF-8, the file is Excel's Windows-1252 after all (a name
    with an accent on row 2,000)."""
    encoding = lead_import.encoding
    undecodable = _first_undecodable(lead_import, encoding)
    if undecodable and encoding == "utf-8" and undecodable[1]:
        encoding = "cp1252"
        undecodable = _first_undecodable(lead_import, encoding)
    if undecodable:
        raise UnreadableFile(
            f"Line {undecodable[0]:,} has characters we cannot read: the file is not UTF-8 or "
            "Excel's Windows encoding all the way through. Open it in your spreadsheet, save "
            "it as “CSV UTF-8”, and upload it again."
        )
    return encoding


def _lines(text):
    """The lines of a decoded file. PostgreSQL cannot store a NUL character, and no CSV file
    should hold one: it is refused wherever it is."""
    for number, line in enumerate(text, start=1):
        if "\x00" in line:
            raise UnreadableFile(
                f"Line {number:,} contains a NUL character (a zero byte), which a CSV file "
                "cannot hold: the file may be damaged. Remove it, or export the file again, "
                "and upload it."
            )
        yield line


def _read(handle, encoding: str, delimiter: str):
    """The rows of a CSV file; raises UnreadableFile naming the line that cannot be read."""
    text = io.TextIOWrapper(handle, encoding=encoding, newline="")
    reader = csv.reader(_lines(text), delimiter=delimiter)
    first_line = 1  # of the row being read: a quoted cell may span lines
    try:
        for row in reader:
            if len(row) > MAX_COLUMNS:
                raise UnreadableFile(
                    f"Line {first_line:,} has {len(row):,} columns; a file can have at most "
                    f"{MAX_COLUMNS}. Keep only the columns with your leads' details and upload "
                    "the file again."
                )
            yield row
            first_line = reader.line_num + 1
    except csv.Error as error:
        if "field limit" in str(error):
            raise UnreadableFile(
                f"The row that starts on line {first_line:,} has a cell longer than "
                f'{csv.field_size_limit():,} characters. Usually a quote mark (") opens a cell '
                "and is never closed: correct that row and upload the file again."
            ) from None
        raise UnreadableFile(
            f"Line {first_line:,} cannot be read as CSV ({error}). Correct it and upload the "
            "file again."
        ) from None
    except UnicodeDecodeError:
        raise UnreadableFile(
            f"Near line {reader.line_num + 1:,} the file has characters we cannot read. Save "
            "it as “CSV UTF-8” and upload it again."
        ) from None


def _rows(lead_import: LeadImport):
    try:
        handle = lead_import.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise UnreadableFile("The uploaded file is no longer here; upload it again.") from None
    with handle:
        yield from _read(handle, lead_import.encoding, lead_import.delimiter)


def _header(lead_import: LeadImport) -> list[str]:
    """The column names, once every row has been read: a file that cannot be read to the end
    is refused now, at upload, rather than stopping its import half-way."""
    rows = _rows(lead_import)
    header = [column.strip() for column in next(rows, [])]
    if not any(header):
        raise UnreadableFile("The first row should name the columns, but it is empty.")
    for _row in rows:
        pass
    return header


def start_import(upload, duplicates: str, *, user) -> LeadImport:
    """Keep the uploaded file and read its header; raises UnreadableFile with the reason (and
    keeps nothing of a file it refuses)."""
    sample = upload.read(SAMPLE_BYTES)
    upload.seek(0)
    if b"\x00" in sample.split(b"\n", 1)[0]:  # an Excel workbook, or UTF-16 text
        raise UnreadableFile(
            "This looks like a spreadsheet, not CSV. In Excel, use File, Save As, CSV."
        )
    encoding, delimiter = sniff(sample)
    lead_import = LeadImport(
        created_by=user,
        original_name=upload.name[:255],
        encoding=encoding,
        delimiter=delimiter,
        duplicates=duplicates,
    )
    lead_import.file.save(f"{lead_import.pk}.csv", upload, save=False)
    try:
        lead_import.encoding = _encoding_of_whole_file(lead_import)
        lead_import.headers = _header(lead_import)
    except UnreadableFile:
        lead_import.file.delete(save=False)
        raise
    lead_import.mapping = guess_mapping(lead_import.headers)
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
        # A file we exported has a ' in front of cells a spreadsheet would run: take it off.
        values[field] = safe_csv.restore(row[position]).strip() if position < len(row) else ""
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

    Only a lost database connection escapes, for survives_reconnect to run the task again on a
    new one. Any other error (the file, the data, a bug) fails the import with the reason: it
    would happen again on every run, and the import must not stay "running".
    """
    lead_import = LeadImport.objects.get(pk=import_id)
    if lead_import.is_finished:
        return
    try:
        _import_rows(lead_import)
    except UnreadableFile as error:
        fail(lead_import, str(error))
    except Exception as error:
        if connection_lost(error):
            raise
        log.exception("The import %s stopped", import_id)
        fail(lead_import, _stopped_message(lead_import))


def _stopped_message(lead_import: LeadImport) -> str:
    done = LeadImport.objects.values_list("processed", flat=True).get(pk=lead_import.pk)
    if not done:
        return (
            "The import stopped on an error we did not expect, before any row was imported. "
            "Upload the file again; if it stops again, please contact support."
        )
    return (
        f"The import stopped on an error we did not expect, after {done:,} rows (counted "
        f"here). Put the rows from row {done + 2:,} on in a new file and import that."
    )


def _import_rows(lead_import: LeadImport) -> None:
    from tenants.models import Tenant

    tenant = Tenant.objects.get(schema_name=connection.schema_name)
    rows = list(_rows(lead_import))
    header, body = rows[0], rows[1:]
    LeadImport.objects.filter(pk=lead_import.pk).exclude(
        status__in=[LeadImport.Status.DONE, LeadImport.Status.FAILED]
    ).update(status=LeadImport.Status.RUNNING, total=len(body), progressed_at=timezone.now())
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
                progressed_at=timezone.now(),
                resumes=0,
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
    writer = safe_csv.writer(buffer)  # the rows hold whatever the file held
    writer.writerow(["Row", "Reason", *header])
    for number, reason, row in rejected_rows:
        writer.writerow([number, reason, *row])
    content = ContentFile(("\ufeff" + buffer.getvalue()).encode("utf-8"))
    lead_import.report.save(f"{lead_import.pk}-rejected.csv", content, save=False)


def fail(lead_import, message: str) -> None:
    """End the import as failed, with `message` shown on its page. Its uploaded file goes, as a
    finished import's does; the rows imported before stay, with their counts."""
    failed = (
        LeadImport.objects.filter(pk=lead_import.pk)
        .exclude(status__in=[LeadImport.Status.DONE, LeadImport.Status.FAILED])
        .update(status=LeadImport.Status.FAILED, error=message, finished_at=timezone.now())
    )
    lead_import.refresh_from_db()
    if failed:
        record_event(
            "leads.import_failed",
            actor=lead_import.created_by,
            data={"import": str(lead_import.pk), "file": lead_import.original_name},
        )
    _forget_upload(lead_import)


# A run that has taken no chunk this long is gone: well beyond the worker's time limit per task
# (Q_CLUSTER["timeout"], 120 s) and the time one chunk takes (well under a second).
STALLED_AFTER = timedelta(minutes=5)
# Runs started again without a chunk going in before the import is failed.
MAX_RESUMES = 3


def resume_stalled_imports(now=None) -> int:
    """Scheduled: every import left "running" by a run that died (the worker's time limit, a
    killed worker, the database down longer than survives_reconnect waits) is started again
    where it stopped; one that stalls MAX_RESUMES times without progress is failed with the
    reason, so that every import ends finished or failed. Returns how many it touched."""
    return for_each_organisation(lambda tenant: _resume_stalled(now), include_public=True)


def _resume_stalled(now=None) -> int:
    now = now or timezone.now()
    stalled = LeadImport.objects.filter(
        status=LeadImport.Status.RUNNING, progressed_at__lt=now - STALLED_AFTER
    )
    for lead_import in stalled:
        if lead_import.resumes >= MAX_RESUMES:
            fail(lead_import, _stalled_message(lead_import))
            continue
        claimed = LeadImport.objects.filter(
            pk=lead_import.pk, resumes=lead_import.resumes, status=LeadImport.Status.RUNNING
        ).update(resumes=F("resumes") + 1, progressed_at=now)
        if claimed:
            enqueue_in_schema(
                connection.schema_name, "nexuscore.leads.imports.run_import", str(lead_import.pk)
            )
    return len(stalled)


def _stalled_message(lead_import: LeadImport) -> str:
    done = lead_import.processed
    rest = (
        f"Put the rows from row {done + 2:,} on in a new file and import that"
        if done
        else "Upload the file again"
    )
    return (
        f"The import stopped {lead_import.resumes + 1} times without getting further, after "
        f"{done:,} rows. {rest}; if it stops again, please contact support."
    )

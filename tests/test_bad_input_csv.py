"""Bad CSV, generated: whatever file is uploaded for import, every page answers with a 2xx, 3xx
or 4xx (a refused file is refused on the upload form, with the reason), every import that starts
ends finished or failed, no uploaded file outlives its import, and the report of rejected rows
never holds a cell a spreadsheet would run.

Hypothesis writes the files: headers that name the lead fields or nothing, cells with formulas,
quotes (closed or not), line breaks, NUL and other control characters, byte order marks, emoji,
cells over the csv module's limit, hundreds of columns; commas, semicolons or tabs; UTF-8,
Excel's Windows-1252 or UTF-16; now and then a few stray bytes. The writer that neutralises cells
(nexuscore.lib.csv) is checked on any text as well.
"""

import csv
import io

import pytest
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nexuscore.leads.models import LeadImport
from nexuscore.lib.csv import FORMULA_STARTS, neutralise, restore
from tests.conftest import client_for, upload

GENERATED = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HOSTILE_CELLS = [
    "", " ", "=1+1", '=HYPERLINK("http://x.example","Click")', "@SUM(A1:A9)", "+65 9123 4567",
    "-2+3", "\t=1+1", "\r=1+1", " =1+1", "'=1+1", '"', '""', 'an "odd" quote', '"unclosed',
    "nul\x00inside", "line\nbreak", "\r", "\r\n", ",", ";", "\t", "é", "Crème Brûlée",
    "😀", "\ufeff", "\u202eevil", "x" * 140_000, "ann@example.sg", "not-an-email", "qualified",
]  # fmt: skip
CELL = st.one_of(st.text(max_size=20), st.sampled_from(HOSTILE_CELLS))
COLUMN_NAME = st.one_of(
    st.sampled_from(["Name", "Email", "Phone", "Company", "Stage", "Notes", "First name"]),
    CELL,
)
WIDE_HEADER = st.integers(min_value=190, max_value=260).map(
    lambda n: [f"Column {i}" for i in range(n)]
)
HEADER = st.integers(min_value=0, max_value=9).flatmap(
    lambda k: {
        0: WIDE_HEADER,
        1: st.lists(COLUMN_NAME, max_size=8),
        2: st.lists(COLUMN_NAME, max_size=8),
    }.get(k, st.just(["Name", "Email", "Phone", "Company", "Notes"]))
)


@st.composite
def csv_files(draw) -> bytes:
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    rows = [draw(HEADER), *draw(st.lists(st.lists(CELL, max_size=8), max_size=12))]
    if draw(st.booleans()):
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delimiter).writerows(rows)  # quoted as a spreadsheet would
        text = buffer.getvalue()
    else:
        newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
        text = newline.join(delimiter.join(row) for row in rows)  # quotes left as they are
    encoding = draw(st.sampled_from(["utf-8"] * 3 + ["utf-8-sig"] + ["cp1252"] * 2 + ["utf-16"]))
    content = text.encode(encoding, errors="replace")
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        at = draw(st.integers(min_value=0, max_value=len(content)))
        content = content[:at] + draw(st.binary(min_size=1, max_size=4)) + content[at:]
    return content


def assert_safe_to_open(cell: str) -> None:
    assert cell.startswith("'") or not cell.lstrip().startswith(FORMULA_STARTS), repr(cell)
    assert not cell.startswith(FORMULA_STARTS), repr(cell)


@GENERATED
@given(content=csv_files())
@example(content=b"\x80")  # one byte, not UTF-8: once a 500 in guessing the delimiter
def test_any_upload_ends_in_a_message_or_a_finished_import(acme, owner, content):
    client = client_for(acme, owner)
    uploaded = upload(client, content)
    assert uploaded.status_code in (200, 302), uploaded.status_code
    if uploaded.status_code == 200:
        assert uploaded.context["form"].errors["file"], "refused without a reason"
        return
    mapping_page = client.get(uploaded["Location"])
    assert mapping_page.status_code in (200, 302), mapping_page.status_code
    if mapping_page.status_code == 200:
        form = mapping_page.context["form"]
        data = {name: field.initial or "" for name, field in form.fields.items()}
        if "name" not in data.values():
            data["column_0"] = "name"
        mapped = client.post(uploaded["Location"], data)
        assert mapped.status_code in (200, 302), mapped.status_code
    with schema_context(acme.schema_name):
        lead_import = LeadImport.objects.latest("created_at")
    if lead_import.status == LeadImport.Status.UPLOADED:
        return  # the mapping was refused (a column filled twice): nothing started
    assert lead_import.status in (LeadImport.Status.DONE, LeadImport.Status.FAILED)
    assert lead_import.finished_at and not lead_import.file
    progress = client.get(f"/leads/import/{lead_import.pk}/")
    assert progress.status_code == 200
    if lead_import.status == LeadImport.Status.FAILED:
        assert lead_import.error and lead_import.error.encode() in progress.content
    if lead_import.report:
        report = client.get(f"/leads/import/{lead_import.pk}/report/")
        text = b"".join(report.streaming_content).decode("utf-8-sig")
        for row in csv.reader(io.StringIO(text)):
            for cell in row:
                assert_safe_to_open(cell)


@pytest.mark.parametrize(
    "value", ["=1+1", "+6591234567", "-12.50", "@SUM(A1)", "\t1", "\r1", "\nline", "  =1"]
)
def test_cells_that_would_start_a_formula_are_neutralised(value):
    assert neutralise(value) == "'" + value
    assert restore(neutralise(value)) == value


@pytest.mark.parametrize("value", ["Tan Wei Ling", "ann@example.sg", "Lion City - Pte. Ltd.", ""])
def test_ordinary_text_and_numbers_are_left_alone(value):
    assert neutralise(value) == value == restore(value)
    assert neutralise(-12) == -12 and neutralise(None) is None


@given(text=st.text())
def test_any_text_comes_out_safe_and_comes_back_as_it_was(text):
    safe = neutralise(text)
    assert_safe_to_open(safe)
    if safe != text:
        assert restore(safe) == text

"""The access export's files: the CSVs a person opens in a spreadsheet are safe to open."""

import csv
import io
import json
import zipfile

import pytest
from django_tenants.utils import schema_context

from nexuscore.privacy.export import build_archive, gather
from tests.fixtures_privacy import make_person

pytestmark = pytest.mark.usefixtures("privacy_media")


def csv_records(archive: zipfile.ZipFile, name: str) -> list[dict]:
    text = archive.read(name).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_the_csv_files_neutralise_cells_a_spreadsheet_would_run(acme, owner):
    """What a visitor typed into the website form comes out as text in leads.csv and notes.csv;
    data.json keeps it exactly as typed."""
    make_person(
        acme,
        "ann@x.sg",
        '=HYPERLINK("http://x.example","Click")',
        actor=owner,
        note="@SUM(A1:A9) called back",
        company="Ann's Bakery",
        phone="+6591234567",
        form_data={"message": "=1+1"},
    )
    with schema_context(acme.schema_name):
        data = gather("ann@x.sg")
    archive = zipfile.ZipFile(io.BytesIO(build_archive(data, "summary")))
    (lead,) = csv_records(archive, "leads.csv")
    assert lead["name"] == '\'=HYPERLINK("http://x.example","Click")'
    assert lead["phone"] == "'+6591234567"
    assert (lead["company"], lead["email"]) == ("Ann's Bakery", "ann@x.sg")
    assert json.loads(lead["form_data"]) == {"message": "=1+1"}  # a JSON object, not a formula
    (note,) = csv_records(archive, "notes.csv")
    assert note["text"] == "'@SUM(A1:A9) called back"
    assert note["created_at"][:2] == "20"
    assert json.loads(archive.read("data.json"))["leads"][0]["name"].startswith("=HYPERLINK")

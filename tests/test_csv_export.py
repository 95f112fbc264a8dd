"""CSV export of the current filtered list: content, filters, streaming, and who may export."""

import csv
import io

import pytest
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event
from tests.conftest import client_for, make_lead, make_leads


def rows(response) -> list[list[str]]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads UTF-8 with the byte order mark
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_export_of_the_filtered_list(acme, member, owner):
    make_lead(
        acme,
        name="Tan Wei Ling",
        email="weiling@lioncity.sg",
        phone="+6591234567",
        company="Café Lion",
        status="qualified",
        assigned_to=owner,
        utm_source="google",
    )
    make_lead(acme, name="Rajesh Kumar", status="new")  # fmt: skip
    response = client_for(acme, member).get("/leads/export.csv", {"status": "qualified"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="leads-')
    header, *body = rows(response)
    assert header[:6] == ["Name", "Email", "Phone", "Company", "Job title", "Status"]
    assert len(body) == 1
    record = dict(zip(header, body[0], strict=True))
    assert record["Name"] == "Tan Wei Ling"
    assert record["Company"] == "Café Lion"
    assert record["Assigned to"] == owner.email
    assert record["UTM source"] == "google"
    assert record["Created at"][:2] == "20"
    with schema_context(acme.schema_name):
        assert Event.objects.get(event_type="leads.exported").data["filters"] == "status=qualified"


def test_export_search_and_many_rows(acme, owner):
    make_leads(acme, 2500)
    make_lead(acme, name="Needle Haystack")
    client = client_for(acme, owner)
    assert len(rows(client.get("/leads/export.csv"))) == 2502
    assert [row[0] for row in rows(client.get("/leads/export.csv", {"q": "needle"}))[1:]] == [
        "Needle Haystack"
    ]


def test_export_only_this_organisation(acme, globex, owner):
    make_lead(globex, name="Globex Secret")
    make_lead(acme, name="Acme Lead")
    body = rows(client_for(acme, owner).get("/leads/export.csv"))[1:]
    assert [row[0] for row in body] == ["Acme Lead"]


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("outsider", 403), ("admin", 200)])
def test_who_may_export(request, acme, role, status):
    response = client_for(acme, request.getfixturevalue(role)).get("/leads/export.csv")
    assert response.status_code == status


def test_export_anonymous_and_wrong_method(acme, owner):
    assert client_for(acme).get("/leads/export.csv").status_code == 302
    assert client_for(acme, owner).post("/leads/export.csv").status_code == 405


def test_export_neutralises_cells_a_spreadsheet_would_run(acme, owner):
    """A visitor's website-form values come out as text, not formulas (OWASP: a `'` in front of
    a cell that starts with = + - @, tab or carriage return)."""
    make_lead(
        acme,
        name='=HYPERLINK("http://x.example","Click")',
        email="ann@example.sg",
        phone="+6591234567",
        company="@SUM(A1:A9)",
        job_title="-2+3",
        utm_source="+cmd",
        utm_medium="\t=1+1",
        utm_campaign=" =1+1",
    )
    make_lead(acme, name="Tan Wei Ling", company="Lion City - Pte. Ltd.", utm_source="google")
    header, *body = rows(client_for(acme, owner).get("/leads/export.csv"))
    records = {
        record["Email"]: record for record in (dict(zip(header, row, strict=True)) for row in body)
    }
    visitor = records["ann@example.sg"]
    assert visitor["Name"] == '\'=HYPERLINK("http://x.example","Click")'
    assert visitor["Company"] == "'@SUM(A1:A9)"
    assert visitor["Job title"] == "'-2+3"
    assert visitor["UTM source"] == "'+cmd"
    assert visitor["UTM medium"] == "'\t=1+1"
    assert visitor["UTM campaign"] == "' =1+1"
    assert visitor["Phone"] == "'+6591234567"  # shown as +6591234567, not as a number
    normal = records["person0@example.sg"]
    assert (normal["Name"], normal["Company"], normal["UTM source"]) == (
        "Tan Wei Ling",
        "Lion City - Pte. Ltd.",
        "google",
    )
    assert normal["Created at"][:2] == "20"

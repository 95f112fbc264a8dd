"""The usage page, the dashboard widget and the JSON endpoints, for every role and no one else."""

import json

import pytest

from nexuscore.quotas.models import record_usage
from tests.conftest import client_for

ROLES = ["owner", "admin", "member", "viewer"]
PAGES = ["/usage/", "/usage/widget/", "/usage/status/"]


@pytest.mark.parametrize("role", ROLES)
def test_every_member_sees_usage(request, acme, role):
    record_usage(acme, "leads.created")
    client = client_for(acme, request.getfixturevalue(role))
    page = client.get("/usage/")
    assert page.status_code == 200
    assert b"Leads created" in page.content
    assert b"<svg" in page.content  # bars and the history chart
    status = client.get("/usage/status/").json()
    leads = next(m for m in status["metrics"] if m["metric"] == "leads.created")
    assert (leads["used"], leads["limit"]) == (1, 5000)


def test_widget_is_a_partial(acme, owner):
    response = client_for(acme, owner).get("/usage/widget/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b"Team members" in response.content


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_goes_to_sign_in(acme, path):
    response = client_for(acme).get(path)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("path", PAGES)
def test_another_organisations_member_is_refused(acme, outsider, path):
    assert client_for(acme, outsider).get(path).status_code == 403


def test_each_organisation_sees_only_its_own_usage(acme, globex, owner, outsider):
    for _ in range(3):
        record_usage(acme, "leads.created")
    mine = client_for(globex, outsider).get("/usage/status/").json()
    assert mine["organisation"] == "globex"
    assert next(m for m in mine["metrics"] if m["metric"] == "leads.created")["used"] == 0


@pytest.mark.parametrize("path", PAGES)
def test_pages_refuse_post(acme, owner, path):
    assert client_for(acme, owner).post(path).status_code == 405


def test_check_is_a_dry_run(acme, member):
    client = client_for(acme, member)
    answer = client.post(
        "/usage/check/",
        json.dumps({"metric": "members", "amount": 1}),
        content_type="application/json",
    ).json()
    assert answer["metric"] == "members" and answer["limit"] == 10
    assert answer["allowed"] is True
    hard = client.post("/usage/check/", {"metric": "privacy.exports", "amount": "26"}).json()
    assert (hard["allowed"], hard["enforcement"]) == (False, "hard")
    soft = client.post("/usage/check/", {"metric": "leads.created", "amount": "6000"}).json()
    assert (soft["allowed"], soft["enforcement"]) == (True, "soft")


@pytest.mark.parametrize(
    "body",
    [
        {"metric": "bogus"},
        {"metric": "leads.created", "amount": "lots"},
        {"metric": "leads.created", "amount": "0"},
        {"metric": "leads.created", "amount": "-3"},
    ],
)
def test_check_explains_bad_input(acme, member, body):
    response = client_for(acme, member).post("/usage/check/", body)
    assert response.status_code == 400
    assert "error" in response.json()


def test_check_refuses_broken_json(acme, member):
    client = client_for(acme, member)
    for raw in ["{not json", "[1, 2]", "\udcff"]:
        response = client.post(
            "/usage/check/", raw.encode("utf-8", "surrogatepass"), content_type="application/json"
        )
        assert response.status_code == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"metric": "members", "amount": 1e999}', "amount"),
        ('{"metric": "members", "amount": NaN}', "amount"),
        ('{"metric": "members", "amount": Infinity}', "amount"),
        ('{"metric": "members", "amount": -1}', "amount"),
        ('{"metric": "members", "amount": 0}', "amount"),
        ('{"metric": "members", "amount": "1"}', "amount"),
        ('{"metric": "members", "amount": true}', "amount"),
        ('{"metric": "members", "amount": 1.5}', "amount"),
        ('{"metric": "members", "amount": null}', "amount"),
        ('{"metric": "members", "amount": [1]}', "amount"),
        (f'{{"metric": "members", "amount": {10**30}}}', "amount"),
        ('{"metric": ["members"], "amount": 1}', "metric"),
        ('{"metric": {"code": "members"}, "amount": 1}', "metric"),
        ('{"metric": "members\\u0000", "amount": 1}', "metric"),  # NUL, escaped in JSON
    ],
)
def test_check_names_the_field_that_is_wrong(acme, member, body, field):
    response = client_for(acme, member).post("/usage/check/", body, content_type="application/json")
    assert response.status_code == 400
    answer = response.json()
    assert answer["field"] == field
    assert answer["error"].startswith(field)


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,  # nested far past Python's stack
        '{"a": ' * 2_000 + "1" + "}" * 2_000,  # small enough to read, too deep to parse
        "[1, 2]",
        '"members"',
        "12",
        "null",
        "",
        '{"metric": "members", "amount": 1, "padding": "' + "x" * 5_000 + '"}',
        '{"metric": "members", "amount": 1, "padding": "' + "x" * 3_000_000 + '"}',
    ],
)
def test_check_refuses_bodies_that_are_not_a_small_json_object(acme, member, body):
    response = client_for(acme, member).post("/usage/check/", body, content_type="application/json")
    if body == "":  # an empty body asks about nothing: no metric
        assert response.json()["field"] == "metric"
    else:
        assert response.json()["field"] is None
    assert response.status_code == 400
    assert response.json()["error"]


@pytest.mark.parametrize("amount", ["1e999", "NaN", " 1", "1_000", "\uff11", "1.0", "true", ""])
def test_a_form_amount_is_digits_only(acme, member, amount):
    """int() would take " 1", "1_000" and a full-width 1; a count is plain digits."""
    data = {"metric": "members", "amount": amount}
    response = client_for(acme, member).post("/usage/check/", data)
    assert response.status_code == 400
    assert response.json()["field"] == "amount"


def test_check_refuses_get(acme, member):
    assert client_for(acme, member).get("/usage/check/").status_code == 405

"""The organisation's settings page (/settings/): who may change what, validation, the event."""

import re

import pytest
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event
from tenants.middleware import forget_hosts
from tenants.models import Tenant
from tests.conftest import client_for


def valid_form(**overrides) -> dict:
    """Acme's settings as the form posts them, with `overrides`."""
    data = {
        "name": "Acme Trading Pte. Ltd.",
        "uen": "202301234G",
        "is_gst_registered": "on",
        "gst_number": "M90364567L",
        "billing_email": "accounts@acme.test",
        "billing_phone": "",
        "street": "1 Raffles Place",
        "unit": "#20-01",
        "postal_code": "048616",
        "timezone": "Asia/Singapore",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def settings_events():
    with schema_context("acme"):
        return list(Event.objects.filter(event_type="organisation.updated"))


def fresh(tenant) -> Tenant:
    return Tenant.objects.get(pk=tenant.pk)


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owner_and_admin_see_the_form_filled_in(request, acme, role):
    response = client_for(acme, request.getfixturevalue(role)).get("/settings/")
    assert response.status_code == 200
    body = response.content.decode()
    for value in ("Acme Trading Pte. Ltd.", "202301234G", "M90364567L", "048616", "#20-01"):
        assert f'value="{value}"' in body
    assert re.search(r'value="Asia/Singapore"\s+selected', body)
    assert "Require two-factor authentication for every member" in body


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owner_and_admin_save_and_an_event_records_old_and_new(request, acme, role):
    person = request.getfixturevalue(role)
    response = client_for(acme, person).post(
        "/settings/",
        valid_form(
            name="Acme Holdings Pte. Ltd.",
            billing_phone="+65 6123 4567",
            postal_code="049315",
            timezone="Asia/Kuala_Lumpur",
            requires_two_factor="on",
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == "/settings/"
    tenant = fresh(acme)
    assert tenant.name == "Acme Holdings Pte. Ltd."
    assert tenant.billing_phone == "+65 6123 4567"
    assert tenant.billing_address == {
        "street": "1 Raffles Place",
        "unit": "#20-01",
        "postal_code": "049315",
        "country": "SG",
    }
    assert tenant.timezone == "Asia/Kuala_Lumpur"
    assert tenant.requires_two_factor is True

    [event] = settings_events()
    assert event.actor_id == person.pk
    changes = event.data["changes"]
    assert set(changes) == {
        "name",
        "billing_phone",
        "billing_address",
        "timezone",
        "requires_two_factor",
    }
    assert changes["name"] == {"old": "Acme Trading Pte. Ltd.", "new": "Acme Holdings Pte. Ltd."}
    assert changes["timezone"] == {"old": "Asia/Singapore", "new": "Asia/Kuala_Lumpur"}
    assert changes["requires_two_factor"] == {"old": False, "new": True}
    assert changes["billing_address"]["old"]["postal_code"] == "048616"
    assert changes["billing_address"]["new"]["postal_code"] == "049315"


def test_saving_without_changes_records_nothing(acme, owner):
    response = client_for(acme, owner).post("/settings/", valid_form(), follow=True)
    assert b"Nothing had changed" in response.content
    assert settings_events() == []


def test_identifiers_are_normalised(acme, owner):
    client_for(acme, owner).post(
        "/settings/", valid_form(uen="2023-0123 4g", gst_number="m9-0364567-l")
    )
    tenant = fresh(acme)
    assert tenant.uen == "202301234G"
    assert tenant.gst_number == "M90364567L"
    assert settings_events() == []  # the same values, typed differently


def test_unregistering_for_gst_clears_the_number(acme, owner):
    client_for(acme, owner).post("/settings/", valid_form(is_gst_registered=None))
    tenant = fresh(acme)
    assert tenant.is_gst_registered is False
    assert tenant.gst_number == ""


def test_clearing_the_address_and_uen(acme, owner):
    client_for(acme, owner).post(
        "/settings/", valid_form(uen="", street="", unit="", postal_code="")
    )
    tenant = fresh(acme)
    assert tenant.uen is None
    assert tenant.billing_address == {}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"uen": "12345678A"}, "uen", "check it against your ACRA record"),
        ({"uen": "201912345Z"}, "uen", "The last character of this UEN does not match"),
        ({"uen": "12"}, "uen", "A UEN has 9 or 10 characters"),
        ({"gst_number": ""}, "gst_number", "Enter your GST registration number, or untick"),
        ({"gst_number": "NOT-A-GST"}, "gst_number", "A GST registration number is your UEN"),
        ({"postal_code": "12345"}, "postal_code", "A Singapore postal code has 6 digits"),
        ({"postal_code": "ABCDEF"}, "postal_code", "A Singapore postal code has 6 digits"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Choose a time zone from the list"),
        ({"timezone": ""}, "timezone", "Choose a time zone."),
        ({"name": "   "}, "name", "Enter your organisation&#x27;s name."),
        ({"billing_email": "accounts@"}, "billing_email", "Enter a whole email address"),
        ({"billing_phone": "call me"}, "billing_phone", "Enter a phone number of 8 to 15 digits"),
        ({"name": "x" * 300}, "name", "at most 255 characters"),
    ],
)
def test_bad_input_gives_field_errors_and_keeps_what_was_typed(
    acme, owner, overrides, field, message
):
    data = valid_form(**overrides)
    response = client_for(acme, owner).post("/settings/", data)
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert f'id="error_1_id_{field}"' in body  # the error sits with its field
    assert "Nothing was saved yet" in body
    typed = data.get(field, "")
    if typed.strip() and field != "timezone":
        assert f'value="{typed}"' in body
    assert fresh(acme).name == "Acme Trading Pte. Ltd."
    assert settings_events() == []


def test_another_organisations_uen_is_refused(acme, globex, owner):
    response = client_for(acme, owner).post("/settings/", valid_form(uen=globex.uen))
    assert response.status_code == 200
    assert b"Another organisation on NexusCore is registered with this UEN" in response.content
    assert fresh(acme).uen == "202301234G"


def test_garbage_post_is_a_form_with_errors_not_a_500(acme, owner):
    response = client_for(acme, owner).post("/settings/", {"is_gst_registered": "maybe", "x": "y"})
    assert response.status_code == 200
    assert b"Enter your organisation&#x27;s name." in response.content


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_get_403(request, acme, role):
    client = client_for(acme, request.getfixturevalue(role))
    assert client.get("/settings/").status_code == 403
    assert client.post("/settings/", valid_form(name="Hijacked")).status_code == 403
    assert fresh(acme).name == "Acme Trading Pte. Ltd."


def test_anonymous_and_outsider(acme, outsider):
    response = client_for(acme).get("/settings/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/settings/")
    assert client_for(acme, outsider).get("/settings/").status_code == 403
    assert client_for(acme, outsider).post("/settings/", valid_form(name="X")).status_code == 403
    assert fresh(acme).name == "Acme Trading Pte. Ltd."


def test_wrong_method_is_405(acme, owner):
    assert client_for(acme, owner).put("/settings/").status_code == 405
    assert client_for(acme, owner).delete("/settings/").status_code == 405


def test_settings_change_only_this_organisation(acme, globex, owner):
    client_for(acme, owner).post("/settings/", valid_form(name="Acme Renamed"))
    assert fresh(globex).name == "Globex Services"
    with schema_context("globex"):
        assert not Event.objects.filter(event_type="organisation.updated").exists()


@pytest.fixture
def suspended_acme(acme):
    Tenant.objects.filter(pk=acme.pk).update(status=Tenant.Status.SUSPENDED)
    forget_hosts()
    yield acme
    forget_hosts()  # the host cache outlives the rolled-back transaction


def test_a_suspended_organisation_cannot_be_changed(suspended_acme, owner):
    acme = suspended_acme
    response = client_for(acme, owner).post("/settings/", valid_form(name="Acme Renamed"))
    assert response.status_code == 403
    assert fresh(acme).name == "Acme Trading Pte. Ltd."

"""The contact form becomes one of NexusCore's own sales leads, in the public schema; spam, floods
and double submissions do not. Staff work those leads in the staff admin."""

import re
import time
import uuid
from html import unescape
from urllib.parse import urlencode

import pytest
import time_machine
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event
from nexuscore.leads.models import Lead
from nexuscore.marketing.contact import ENQUIRIES
from nexuscore.marketing.forms import CONSENT_TEXT
from tests.conftest import client_for


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    return unescape(match.group(1)) if match else ""


def _landing(client, query: str = "", **headers) -> dict:
    """Open the contact page and return the hidden fields it carries."""
    html = client.get(f"/contact/{query}", headers=headers).content.decode()
    names = ["submission_key", "utm_source", "utm_medium", "utm_campaign", "utm_term"]
    names += ["utm_content", "referrer", "page"]
    return {name: _hidden(html, name) for name in names}


def _enquiry(**changes) -> dict:
    data = {
        "name": "Tan Mei Ling",
        "email": "meiling@Harbourfreight.COM.SG",
        "company": "Harbour Freight Pte. Ltd.",
        "phone": "9123 4567",
        "message": "We have 12 sales staff and would like a demonstration.",
        "consent": "on",
        "website": "",
        "submission_key": uuid.uuid4().hex,
    }
    data.update(changes)
    return data


def _sales_leads():
    with schema_context("public"):
        return list(Lead.objects.all())


def _lead_events():
    with schema_context("public"):
        return list(Event.objects.filter(event_type="lead.created"))


def test_the_form_carries_utm_parameters_referrer_and_a_fresh_submission_key(db):
    client = client_for(None)
    query = "?utm_source=linkedin&utm_medium=paid&utm_campaign=sg-sme-q4&utm_term=crm"
    hidden = _landing(client, query, Referer="https://www.google.com.sg/")
    assert hidden["utm_source"] == "linkedin"
    assert hidden["utm_medium"] == "paid"
    assert hidden["utm_campaign"] == "sg-sme-q4"
    assert hidden["utm_term"] == "crm"
    assert hidden["referrer"] == "https://www.google.com.sg/"
    assert hidden["page"] == f"http://localhost/contact/{query}"
    assert uuid.UUID(hidden["submission_key"])
    assert _landing(client)["submission_key"] != hidden["submission_key"]


def test_the_form_shows_its_consent_text_and_hides_the_honeypot(db):
    html = client_for(None).get("/contact/").content.decode()
    assert unescape(html).count(CONSENT_TEXT) == 1
    honeypot = re.search(r'<div class="sr-only" aria-hidden="true">(.*?)</div>', html, re.S)
    assert 'name="website"' in honeypot.group(1)
    assert 'tabindex="-1"' in honeypot.group(1)


def test_an_enquiry_becomes_a_sales_lead_in_the_public_schema(db, mailoutbox):
    client = client_for(None)
    hidden = _landing(
        client, "?utm_source=linkedin&utm_campaign=sg-sme-q4", Referer="https://x.sg/"
    )
    before = time.time()
    response = client.post("/contact/", {**_enquiry(), **hidden})
    assert response.status_code == 302
    assert response["Location"] == "/contact/thanks/"

    [lead] = _sales_leads()
    assert lead.name == "Tan Mei Ling"
    assert lead.email == "meiling@harbourfreight.com.sg"
    assert lead.company == "Harbour Freight Pte. Ltd."
    assert lead.phone == "+6591234567"
    assert lead.notes == "We have 12 sales staff and would like a demonstration."
    assert lead.source == Lead.Source.CONTACT_FORM
    assert lead.status == Lead.Status.NEW
    assert (lead.utm_source, lead.utm_campaign, lead.utm_medium) == ("linkedin", "sg-sme-q4", "")
    assert lead.form_data == {
        "referrer": "https://x.sg/",
        "page": "http://localhost/contact/?utm_source=linkedin&utm_campaign=sg-sme-q4",
    }
    assert lead.consent_text == CONSENT_TEXT
    assert lead.consent_version == "2026-11"
    assert lead.consent_purpose
    assert before - 1 <= lead.consent_given_at.timestamp() <= time.time() + 1
    assert lead.submission_key == hidden["submission_key"]
    with schema_context("acme"):
        assert not Lead.objects.filter(email="meiling@harbourfreight.com.sg").exists()

    [event] = _lead_events()
    assert event.data["lead"] == str(lead.pk)
    assert event.data["source"] == "contact_form"
    assert "meiling" not in str(event.data)  # no personal data in the append-only log

    [mail] = mailoutbox
    assert mail.to == ["hello@nexuscore.test"]
    assert mail.reply_to == ["meiling@harbourfreight.com.sg"]
    assert "Tan Mei Ling" in mail.subject
    assert "would like a demonstration" in mail.body
    assert f"/admin/leads/lead/{lead.pk}/change/" in mail.body


def test_the_thank_you_page_follows_an_enquiry(db):
    response = client_for(None).post("/contact/", _enquiry(), follow=True)
    assert response.status_code == 200
    assert b"Thank you for your message" in response.content


def test_a_signed_in_person_can_send_an_enquiry_and_is_recorded_as_its_actor(owner):
    response = client_for(None, owner).post("/contact/", _enquiry())
    assert response.status_code == 302
    [event] = _lead_events()
    assert event.actor == owner


def test_the_sales_address_can_be_set(db, settings, mailoutbox):
    settings.NEXUSCORE_SALES_EMAIL = "sales@nexuscore.test"
    client_for(None).post("/contact/", _enquiry())
    assert mailoutbox[0].to == ["sales@nexuscore.test"]


# --- Garbage in: field errors, values kept, nothing stored --------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"name": ""}, "name", "Enter your name."),
        ({"name": "x" * 256}, "name", "Shorten your name to at most 255 characters (it has 256)."),
        ({"email": "meiling(at)harbour"}, "email", "Enter your work email address in the form"),
        ({"email": ""}, "email", "Enter your work email address, so that we can reply."),
        ({"company": "   "}, "company", "Enter your company&#x27;s name."),
        ({"phone": "call me"}, "phone", "is not a phone number"),
        ({"phone": "1234"}, "phone", "is not a Singapore number"),
        ({"message": ""}, "message", "Enter your message."),
        ({"message": "y" * 5001}, "message", "Shorten your message to at most 5000 characters"),
        ({"consent": ""}, "consent", "Tick the box to let us use your details"),
        ({"name": "Ann\u202egnal"}, "name", "Your name contains invisible control characters"),
        ({"company": "Acme\x07"}, "company", "Your company&#x27;s name contains invisible"),
        ({"name": "Mei\x00Ling"}, "name", "Type your name again: it contains invisible"),
        ({"message": "Hello\x1b[31m"}, "message", "Your message contains invisible control"),
    ],
)
def test_bad_input_gets_field_errors_and_keeps_what_was_typed(db, changes, field, error):
    data = _enquiry(**changes)
    response = client_for(None).post("/contact/", data)
    html = response.content.decode()
    assert response.status_code == 200
    assert error in html
    assert f'id="id_{field}_error"' in html
    assert 'aria-invalid="true"' in html
    assert 'value="Harbour Freight Pte. Ltd."' in html or field == "company"
    assert "We have 12 sales staff" in html or field == "message"
    assert _sales_leads() == []


def test_an_empty_post_names_every_missing_field(db):
    response = client_for(None).post("/contact/", {})
    html = unescape(response.content.decode())
    assert response.status_code == 200
    for error in [
        "Enter your name.",
        "Enter your work email address",
        "Enter your company's name.",
        "Enter your message.",
        "Tick the box",
    ]:
        assert error in html
    assert "Please correct the 5 fields marked below" in html
    assert _sales_leads() == []


def test_bytes_that_are_not_utf8_get_an_error_not_a_crash(db):
    body = urlencode(_enquiry(company="placeholder")).replace("placeholder", "Caf%E9%FF+Pte")
    response = client_for(None).post(
        "/contact/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert "Your company&#x27;s name contains characters we could not read" in (
        response.content.decode()
    )
    assert _sales_leads() == []


def test_names_in_any_script_are_welcome(db):
    name = "Zoe\u0301 Ng \u9ec4\u4f1f\u73b2 \U0001f469\u200d\U0001f4bc"  # combining accent, ZWJ
    response = client_for(None).post("/contact/", _enquiry(name=name))
    assert response.status_code == 302
    [lead] = _sales_leads()
    assert lead.name == "Zo\u00e9 Ng \u9ec4\u4f1f\u73b2 \U0001f469\u200d\U0001f4bc"  # NFC


def test_odd_hidden_values_are_tidied_not_refused(db):
    response = client_for(None).post(
        "/contact/",
        _enquiry(utm_source="a\x00b" + "c" * 400, submission_key="not-a-key", referrer="\n"),
    )
    assert response.status_code == 302
    [lead] = _sales_leads()
    assert lead.utm_source == "ab" + "c" * 253
    assert uuid.UUID(lead.submission_key)
    assert lead.form_data["referrer"] == ""


# --- Spam, floods and double submissions -------------------------------------------------


def test_a_filled_honeypot_looks_like_success_and_stores_nothing(db, mailoutbox):
    client = client_for(None)
    genuine = client.post("/contact/", _enquiry())
    with schema_context("public"):
        Lead.objects.all().delete()
    events_before = len(_lead_events())

    spam = client.post("/contact/", _enquiry(website="https://cheap-pills.example"))
    assert spam.status_code == genuine.status_code == 302
    assert spam["Location"] == genuine["Location"]
    assert _sales_leads() == []
    assert len(_lead_events()) == events_before
    assert len(mailoutbox) == 1  # the genuine enquiry's only


def test_a_filled_honeypot_wins_even_over_bad_input(db):
    response = client_for(None).post("/contact/", {"website": "spam", "email": "nonsense"})
    assert response.status_code == 302
    assert response["Location"] == "/contact/thanks/"


def test_the_same_form_sent_twice_makes_one_lead(db, mailoutbox):
    client = client_for(None)
    data = _enquiry()
    first = client.post("/contact/", data)
    second = client.post("/contact/", data)
    assert first.status_code == second.status_code == 302
    assert second["Location"] == "/contact/thanks/"
    assert len(_sales_leads()) == 1
    assert len(_lead_events()) == 1
    assert len(mailoutbox) == 1


def test_a_repeated_form_is_not_refused_by_the_rate_limit(db):
    client = client_for(None)
    forms = [_enquiry() for _ in range(ENQUIRIES.limit)]
    for data in forms:
        client.post("/contact/", data)
    assert client.post("/contact/", forms[-1]).status_code == 302


def test_one_address_may_send_five_enquiries_in_ten_minutes(db):
    client = client_for(None)
    for number in range(ENQUIRIES.limit):
        assert client.post("/contact/", _enquiry(name=f"Person {number}")).status_code == 302

    refused = client.post("/contact/", _enquiry(name="Person six", message="Still here?"))
    html = unescape(refused.content.decode())
    assert refused.status_code == 200
    assert "You have sent us several messages in the last few minutes" in html
    assert "please send it again in ten minutes" in html
    assert 'value="Person six"' in html
    assert "Still here?" in html
    assert len(_sales_leads()) == ENQUIRIES.limit

    other_address = client.post("/contact/", _enquiry(), REMOTE_ADDR="203.0.113.9")
    assert other_address.status_code == 302


def test_enquiries_older_than_the_window_no_longer_count(db):
    client = client_for(None)
    with time_machine.travel(time.time() - ENQUIRIES.window - 1, tick=False):
        for number in range(ENQUIRIES.limit):
            client.post("/contact/", _enquiry(name=f"Person {number}"))
    assert client.post("/contact/", _enquiry()).status_code == 302


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_the_contact_form_refuses_other_methods(db, method):
    assert getattr(client_for(None), method)("/contact/").status_code == 405


def test_the_contact_form_is_not_on_organisation_hosts(acme, owner):
    assert client_for(acme, owner).get("/contact/").status_code == 404
    assert client_for(acme).post("/contact/", _enquiry()).status_code == 404
    assert _sales_leads() == []


# --- The staff admin -----------------------------------------------------------------------


@pytest.fixture
def sales_lead(db):
    with schema_context("public"):
        return Lead.objects.create(
            name="Lim Wei Jie",
            email="weijie@orchardsupplies.sg",
            company="Orchard Supplies Pte. Ltd.",
            source=Lead.Source.CONTACT_FORM,
            utm_campaign="sg-sme-q4",
            consent_text=CONSENT_TEXT,
            consent_version="2026-11",
        )


def test_staff_list_filter_and_search_sales_leads(staff_with_mfa, sales_lead):
    client = client_for(None, staff_with_mfa)
    listing = client.get("/admin/leads/lead/")
    assert listing.status_code == 200
    assert b"Lim Wei Jie" in listing.content
    assert b"Orchard Supplies" in listing.content
    assert b"sg-sme-q4" in listing.content
    assert b"Lim Wei Jie" in client.get("/admin/leads/lead/?status__exact=new").content
    assert b"Lim Wei Jie" not in client.get("/admin/leads/lead/?status__exact=won").content
    assert b"Lim Wei Jie" in client.get("/admin/leads/lead/?source__exact=contact_form").content
    assert b"Lim Wei Jie" in client.get("/admin/leads/lead/?q=orchard").content
    assert b"Lim Wei Jie" not in client.get("/admin/leads/lead/?q=nobody").content


def test_staff_change_a_leads_status_owner_and_notes(staff_with_mfa, sales_lead):
    client = client_for(None, staff_with_mfa)
    page = client.get(f"/admin/leads/lead/{sales_lead.pk}/change/")
    assert page.status_code == 200
    assert CONSENT_TEXT in unescape(page.content.decode())  # shown, read-only
    response = client.post(
        f"/admin/leads/lead/{sales_lead.pk}/change/",
        {
            "status": "contacted",
            "lost_reason": "",
            "assigned_to": staff_with_mfa.pk,
            "next_follow_up_0": "",
            "next_follow_up_1": "",
            "name": sales_lead.name,
            "email": sales_lead.email,
            "phone": "",
            "company": sales_lead.company,
            "job_title": "",
            "notes": "Called; demo on Tuesday.",
            "converted_at_0": "",
            "converted_at_1": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with schema_context("public"):
        sales_lead.refresh_from_db()
        [event] = Event.objects.filter(event_type="lead.updated")
        status = Event.objects.get(event_type="lead.status_changed")
        assignment = Event.objects.get(event_type="lead.assigned")
    assert sales_lead.status == "contacted"
    assert sales_lead.assigned_to == staff_with_mfa
    assert sales_lead.notes == "Called; demo on Tuesday."
    assert sales_lead.consent_version == "2026-11"
    # A state change is recorded as its own action records it; other fields by name.
    assert set(event.data["fields"]) == {"notes"}
    assert (status.data["from"], status.data["to"]) == ("new", "contacted")
    assert assignment.data["to"] == str(staff_with_mfa.pk)
    assert event.actor == status.actor == assignment.actor == staff_with_mfa


def test_people_who_are_not_staff_do_not_see_sales_leads(owner, sales_lead):
    response = client_for(None, owner).get("/admin/leads/lead/")
    assert response.status_code in (302, 403)
    assert b"Lim Wei Jie" not in response.content

"""The public capture form (/f/contact/): UTM, consent, honeypot, rate limit, idempotency, quota,
the thank-you page, the email to the assignee or owner, and the website form settings page."""

import pytest
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event
from nexuscore.leads.models import CaptureForm, Lead
from nexuscore.quotas.models import UsageEvent
from tests.conftest import CAPTURE_FORM as FORM
from tests.conftest import client_for, in_schema, set_plan_limits


def leads(tenant):
    return in_schema(tenant, lambda: list(Lead.objects.all()))


def post(tenant, data=None, **extra):
    return client_for(tenant).post("/f/contact/", {**FORM, **(data or {})}, **extra)


def test_form_page_keeps_utm_from_the_landing_url(acme):
    response = client_for(acme).get(
        "/f/contact/?utm_source=google&utm_medium=cpc&utm_campaign=sme-crm&utm_term=crm+sg"
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="utm_source" value="google"' in page
    assert 'name="utm_term" value="crm sg"' in page
    assert 'name="submission_key" value="' in page
    assert "Acme Trading Pte. Ltd. may keep the details" in page  # the consent text
    assert 'name="website"' in page  # the honeypot


def test_submission_creates_a_lead_with_consent_and_utm(
    acme, owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(acme, {"utm_source": "google", "utm_campaign": "sme-crm"})
    assert response.status_code == 302
    assert response["Location"] == "/f/contact/thanks/"
    (lead,) = leads(acme)
    assert (lead.name, lead.email, lead.phone) == (
        "Tan Wei Ling",
        "weiling@lioncity.sg",
        "+6591234567",
    )
    assert (lead.source, lead.utm_source, lead.utm_campaign) == (
        "capture_form",
        "google",
        "sme-crm",
    )
    assert lead.consent_given_at is not None
    assert lead.consent_version == "1"
    assert "Acme Trading Pte. Ltd. may keep" in lead.consent_text
    assert lead.form_data["message"] == "Please call me about 20 seats."
    assert lead.submission_key == "k" * 32
    usage = UsageEvent.objects.get(tenant=acme, metric="leads.created")
    assert usage.metadata["lead"] == str(lead.pk)
    # Nobody is assigned by the form's settings, so the owner hears about it.
    assert [message.to for message in mailoutbox] == [[owner.email]]
    assert "Tan Wei Ling" in mailoutbox[0].subject
    assert f"/leads/{lead.pk}/" in mailoutbox[0].body
    thanks = client_for(acme).get("/f/contact/thanks/")
    assert b"Thank you" in thanks.content


def test_utm_from_the_referring_page_when_the_snippet_posts(acme):
    post(
        acme,
        {"submission_key": ""},
        HTTP_REFERER="https://acme.example.sg/contact?utm_source=newsletter&utm_medium=email",
    )
    (lead,) = leads(acme)
    assert (lead.utm_source, lead.utm_medium) == ("newsletter", "email")


def test_assignee_is_told(acme, member, mailoutbox, django_capture_on_commit_callbacks):
    with schema_context(acme.schema_name):
        CaptureForm.objects.create(slug="contact", assign_to=member)
    with django_capture_on_commit_callbacks(execute=True):
        post(acme)
    (lead,) = leads(acme)
    assert lead.assigned_to_id == member.pk
    assert [message.to for message in mailoutbox] == [[member.email]]
    assert in_schema(acme, lambda: Event.objects.filter(event_type="lead.email_sent").count()) == 1


def test_honeypot_pretends_and_keeps_nothing(acme, mailoutbox):
    response = post(acme, {"website": "http://spam.example"})
    assert response.status_code == 302
    assert leads(acme) == []
    assert mailoutbox == []


def test_double_submission_makes_one_lead(acme):
    assert post(acme).status_code == 302
    assert post(acme).status_code == 302
    assert len(leads(acme)) == 1
    assert UsageEvent.objects.filter(tenant=acme, metric="leads.created").count() == 1


def test_without_a_key_the_same_form_twice_is_one_lead(acme):
    post(acme, {"submission_key": ""})
    post(acme, {"submission_key": ""})
    post(acme, {"submission_key": "", "email": "other@lioncity.sg"})
    assert sorted(lead.email for lead in leads(acme)) == [
        "other@lioncity.sg",
        "weiling@lioncity.sg",
    ]


def test_rate_limit_per_address(acme):
    for number in range(5):
        response = post(acme, {"submission_key": f"key-{number:04d}"}, REMOTE_ADDR="203.0.113.9")
        assert response.status_code == 302
    refused = post(acme, {"submission_key": "key-9999"}, REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 429
    assert b"Please wait" in refused.content
    other = post(acme, {"submission_key": "key-8888"}, REMOTE_ADDR="198.51.100.7")
    assert other.status_code == 302
    assert len(leads(acme)) == 6


def test_hard_quota_shows_a_polite_page_and_tells_the_owner_once(acme, owner, mailoutbox):
    set_plan_limits(acme, leads_per_month=0, enforcement={"leads.created": "hard"})
    first = post(acme)
    assert first.status_code == 200
    assert b"not accepting new enquiries" in first.content
    post(acme, {"submission_key": "another-key-123"})
    assert leads(acme) == []
    assert [message.to for message in mailoutbox] == [[owner.email]]
    assert "turning leads away" in mailoutbox[0].subject


def test_soft_quota_accepts_and_records_the_overage(acme):
    set_plan_limits(acme, leads_per_month=0, enforcement={"leads.created": "soft"})
    assert post(acme).status_code == 302
    assert len(leads(acme)) == 1
    usage = UsageEvent.objects.get(tenant=acme, metric="leads.created")
    assert usage.metadata["overage"] == 1


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": ""}, "Enter your name."),
        ({"email": "not-an-email"}, "Enter an email address like name@company.sg."),
        ({"phone": "12"}, "is not a Singapore number"),
        ({"consent": ""}, "Tick the box to agree"),
        ({"name": "x" * 300}, "at most 255 characters"),
        ({"submission_key": "<script>"}, None),  # a mangled key is replaced, not an error
    ],
)
def test_garbage_gives_field_errors_and_keeps_values(acme, data, error):
    response = post(acme, {**data, "company": "Kept Company Pte Ltd"})
    if error is None:
        assert response.status_code == 302
        return
    assert response.status_code == 200
    page = response.content.decode()
    assert error in page
    assert 'value="Kept Company Pte Ltd"' in page
    assert leads(acme) == []


def test_no_csrf_token_needed(acme):
    client = client_for(acme)
    client.handler.enforce_csrf_checks = True
    assert client.post("/f/contact/", FORM).status_code == 302


def test_unknown_form_is_404_and_wrong_method_405(acme):
    assert client_for(acme).get("/f/nothing-here/").status_code == 404
    assert client_for(acme).put("/f/contact/").status_code == 405
    assert client_for(acme).post("/f/contact/thanks/").status_code == 405


def test_inactive_form_is_closed(acme):
    with schema_context(acme.schema_name):
        CaptureForm.objects.create(slug="contact", is_active=False)
    response = post(acme)
    assert b"This form is closed" in response.content
    assert leads(acme) == []


def test_not_on_the_public_host(db):
    assert client_for(None).get("/f/contact/").status_code == 404


def test_each_organisation_gets_its_own_leads(acme, globex):
    post(globex)
    assert leads(acme) == []
    assert len(leads(globex)) == 1


# --- The website form settings page -------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer"])
def test_members_see_the_snippet(request, acme, role):
    response = client_for(acme, request.getfixturevalue(role)).get("/leads/website-form/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '&lt;form method="post" action="http://acme.localhost/f/contact/"&gt;' in page
    assert 'name="website"' in page
    assert ("Save" in page) == (role in ("owner", "admin"))


def test_owner_changes_settings_and_consent_version(acme, owner, member):
    client = client_for(acme, owner)
    client.get("/leads/website-form/")
    response = client.post(
        "/leads/website-form/",
        {
            "title": "Talk to us",
            "is_active": "on",
            "assign_to": str(member.pk),
            "consent_purpose": "Sales follow-up",
            "consent_text": "You may contact me about my enquiry.",
            "thank_you": "Thanks!",
        },
    )
    assert response.status_code == 302
    with schema_context(acme.schema_name):
        form = CaptureForm.objects.get(slug="contact")
        assert (form.title, form.assign_to_id, form.consent_version) == (
            "Talk to us",
            member.pk,
            "2",
        )
    page = client_for(acme).get("/f/contact/").content.decode()
    assert "You may contact me about my enquiry." in page


def test_member_cannot_change_settings(acme, member):
    response = client_for(acme, member).post("/leads/website-form/", {"title": "Hacked"})
    assert response.status_code == 403


def test_settings_page_anonymous_and_outsider(acme, outsider):
    assert client_for(acme).get("/leads/website-form/").status_code == 302
    assert client_for(acme, outsider).get("/leads/website-form/").status_code == 403

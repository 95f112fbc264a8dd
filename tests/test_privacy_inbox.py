"""The privacy inbox of an organisation's host: every view for each role, the other
organisation's requests, days left and overdue, the retention setting, the nav entry."""

import pytest
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event
from nexuscore.privacy.models import DSARRequest
from tests.conftest import client_for
from tests.fixtures_privacy import make_request

pytestmark = pytest.mark.usefixtures("privacy_media")


@pytest.fixture
def deletion(acme):
    return make_request("acme")


GETS = ["/privacy/requests/", "/privacy/requests/{pk}/"]
POSTS = [
    "/privacy/requests/{pk}/approve/",
    "/privacy/requests/{pk}/delete/",
    "/privacy/requests/{pk}/correct/",
    "/privacy/requests/{pk}/export/",
    "/privacy/requests/{pk}/decline/",
    "/privacy/retention/",
]


@pytest.mark.parametrize("path", GETS + POSTS)
def test_anonymous_people_are_sent_to_sign_in(acme, deletion, path):
    client = client_for(acme)
    url = path.format(pk=deletion.pk)
    response = client.post(url) if path in POSTS else client.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("role", ["member", "viewer"])
@pytest.mark.parametrize("path", GETS + POSTS)
def test_members_and_viewers_are_refused(acme, deletion, role, path, request):
    client = client_for(acme, request.getfixturevalue(role))
    url = path.format(pk=deletion.pk)
    response = client.post(url) if path in POSTS else client.get(url)
    assert response.status_code == 403
    with schema_context("acme"):
        assert DSARRequest.objects.get(pk=deletion.pk).status == "open"


@pytest.mark.parametrize("path", GETS + POSTS)
def test_people_from_another_organisation_are_refused(acme, deletion, outsider, path):
    client = client_for(acme, outsider)
    url = path.format(pk=deletion.pk)
    response = client.post(url) if path in POSTS else client.get(url)
    assert response.status_code == 403


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_see_the_inbox(acme, deletion, role, request):
    response = client_for(acme, request.getfixturevalue(role)).get("/privacy/requests/")
    assert response.status_code == 200
    assert b"ann@x.sg" in response.content
    assert b"30 days left" in response.content or b"29 days left" in response.content
    assert b'href="/privacy/requests/"' in response.content  # the nav entry


def test_the_nav_entry_is_only_for_those_who_manage_privacy(acme, member):
    page = client_for(acme, member).get("/leads/")
    assert b'href="/privacy/requests/"' not in page.content


def test_overdue_requests_are_highlighted(acme, owner):
    make_request("acme", email="late@x.sg", days=-3)
    make_request("acme", email="soon@x.sg", days=5)
    page = client_for(acme, owner).get("/privacy/requests/").content.decode()
    assert "Overdue by 3 days" in page
    assert "data-overdue" in page
    assert page.index("late@x.sg") < page.index("soon@x.sg")  # the most urgent first
    assert "badge-warning" in page


def test_tabs(acme, owner):
    make_request("acme", email="open@x.sg")
    make_request("acme", email="done@x.sg", status="completed")
    make_request("acme", email="new@x.sg", status="unverified")
    client = client_for(acme, owner)
    assert b"open@x.sg" in client.get("/privacy/requests/").content
    assert b"done@x.sg" not in client.get("/privacy/requests/").content
    assert b"done@x.sg" in client.get("/privacy/requests/?show=closed").content
    assert b"new@x.sg" in client.get("/privacy/requests/?show=unconfirmed").content
    assert client.get("/privacy/requests/?show=<script>").status_code == 200


def test_the_other_organisations_requests_are_unreachable(acme, globex, owner, outsider):
    theirs = make_request("globex", email="globex-person@x.sg")
    client = client_for(acme, owner)
    assert client.get(f"/privacy/requests/{theirs.pk}/").status_code == 404
    for path in POSTS[:-1]:
        assert client.post(path.format(pk=theirs.pk)).status_code == 404
    assert b"globex-person" not in client.get("/privacy/requests/").content
    # Globex's owner sees it on Globex's host.
    assert client_for(globex, outsider).get(f"/privacy/requests/{theirs.pk}/").status_code == 200


def test_the_public_sites_requests_are_not_in_an_organisations_inbox(acme, owner):
    ours = make_request("public", email="public-person@x.sg")
    client = client_for(acme, owner)
    assert client.get(f"/privacy/requests/{ours.pk}/").status_code == 404
    assert b"public-person" not in client.get("/privacy/requests/").content


def test_the_inbox_does_not_exist_on_the_public_site(owner):
    assert client_for(None, owner).get("/privacy/requests/").status_code == 404


def test_wrong_methods(acme, owner, deletion):
    client = client_for(acme, owner)
    assert client.post("/privacy/requests/").status_code == 405
    assert client.get(f"/privacy/requests/{deletion.pk}/approve/").status_code == 405
    assert client.get(f"/privacy/requests/{deletion.pk}/delete/").status_code == 405


def test_the_detail_page_and_its_history(acme, owner, admin, deletion):
    client = client_for(acme, admin)
    page = client.get(f"/privacy/requests/{deletion.pk}/")
    assert b"Approve the deletion" in page.content
    client.post(f"/privacy/requests/{deletion.pk}/approve/")
    page = client.get(f"/privacy/requests/{deletion.pk}/")
    assert b"Step 2 of 2" in page.content and b"Deletion approved" in page.content
    # Step 2 is for another owner or admin (see test_privacy_deletion.py).
    assert b"Anonymise now" not in page.content
    second = client_for(acme, owner).get(f"/privacy/requests/{deletion.pk}/")
    assert b"Anonymise now" in second.content
    with schema_context("acme"):
        event = Event.objects.get(event_type="privacy.deletion_approved")
    assert event.actor == admin and "ann@x.sg" not in str(event.data)


def test_declining_tells_the_person_why(acme, owner, deletion, mailoutbox):
    client = client_for(acme, owner)
    empty = client.post(f"/privacy/requests/{deletion.pk}/decline/", {"reason": ""})
    assert empty.status_code == 302
    with schema_context("acme"):
        assert DSARRequest.objects.get(pk=deletion.pk).status == "open"
    client.post(
        f"/privacy/requests/{deletion.pk}/decline/", {"reason": "We need it for a court case."}
    )
    with schema_context("acme"):
        assert DSARRequest.objects.get(pk=deletion.pk).status == "rejected"
    assert "court case" in mailoutbox[-1].body and mailoutbox[-1].to == ["ann@x.sg"]


def test_export_progress_is_a_partial_while_it_runs(acme, owner):
    running = make_request("acme", request_type="access", status="processing")
    with schema_context("acme"):
        DSARRequest.objects.filter(pk=running.pk).update(progress=40)
    response = client_for(acme, owner).get(
        f"/privacy/requests/{running.pk}/", HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert 'id="export-progress"' in page and "40%" in page and 'hx-trigger="every 1s"' in page
    assert "<html" not in page


def test_the_status_page_polls_while_the_export_runs(acme):
    from nexuscore.privacy.models import token_hash

    running = make_request("acme", request_type="access", status="processing")
    with schema_context("acme"):
        DSARRequest.objects.filter(pk=running.pk).update(verification_token=token_hash("t" * 20))
    page = client_for(acme).get(f"/privacy/request/{'t' * 20}/", HTTP_HX_REQUEST="true")
    assert 'id="request-status"' in page.content.decode() and b"<html" not in page.content


def test_the_retention_setting(acme, owner, admin, member):
    page = client_for(acme, owner).get("/settings/")
    assert b"Personal data retention" in page.content
    assert b'action="/privacy/retention/"' in page.content
    assert client_for(acme, member).post("/privacy/retention/", {"months": "12"}).status_code == 403
    response = client_for(acme, admin).post("/privacy/retention/", {"months": "12"})
    assert response.status_code == 302 and response["Location"] == "/settings/"
    acme.refresh_from_db()
    assert acme.settings["lead_retention_months"] == 12
    with schema_context("acme"):
        assert Event.objects.filter(
            event_type="privacy.retention_changed", data__months=12
        ).exists()
    client_for(acme, admin).post("/privacy/retention/", {"months": "7"})  # not a choice
    acme.refresh_from_db()
    assert acme.settings["lead_retention_months"] == 12
    page = client_for(acme, owner).get("/settings/").content.decode()
    assert '<option value="12" selected>' in page


def test_demo_requests_fill_the_inbox_once(acme, owner):
    from nexuscore.demo.privacy import create_demo_requests

    assert create_demo_requests(acme) == 2
    assert create_demo_requests(acme) == 0
    page = client_for(acme, owner).get("/privacy/requests/").content.decode()
    assert "Overdue by 3 days" in page and "rahul.demo@example.sg" in page
    assert "mei.ling.demo@example.sg" in page

"""The leads list: who sees it, search, filters, sort, pagination, HTMX partials, inline changes,
bulk actions, and a number of queries that does not grow with the number of leads."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from nexuscore.audit.models import Event
from nexuscore.leads.models import Lead
from tests.conftest import client_for, in_schema, make_lead, make_leads

ROLES = ["owner", "admin", "member", "viewer"]


def names(response) -> set[str]:
    return {lead.name for lead in response.context["leads"]}


# --- Access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_member_sees_the_list(request, acme, role):
    make_lead(acme, name="Tan Wei Ling", company="Lion City Logistics")
    response = client_for(acme, request.getfixturevalue(role)).get("/leads/")
    assert response.status_code == 200
    assert b"Tan Wei Ling" in response.content
    assert b"Lion City Logistics" in response.content


def test_viewer_gets_no_controls(acme, viewer, member):
    make_lead(acme, name="Tan Wei Ling")
    page = client_for(acme, viewer).get("/leads/").content.decode()
    assert "Status of Tan Wei Ling" not in page
    assert "Add lead" not in page and "bulk-form" not in page
    page = client_for(acme, member).get("/leads/").content.decode()
    assert 'aria-label="Status of Tan Wei Ling: New. Change it"' in page
    assert "Import CSV" not in page  # members manage but do not import


def test_anonymous_goes_to_sign_in(acme):
    response = client_for(acme).get("/leads/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_outsider_is_refused(acme, outsider):
    make_lead(acme, name="Tan Wei Ling")
    response = client_for(acme, outsider).get("/leads/")
    assert response.status_code == 403
    assert b"Tan Wei Ling" not in response.content


def test_wrong_method(acme, owner):
    assert client_for(acme, owner).post("/leads/").status_code == 405


def test_other_organisations_leads_are_not_listed(acme, globex, owner):
    make_lead(globex, name="Globex Secret Contact")
    make_lead(acme, name="Acme Contact")
    response = client_for(acme, owner).get("/leads/")
    assert names(response) == {"Acme Contact"}


# --- Search, filters, sort, pages --------------------------------------------------------------


@pytest.fixture
def sample(acme, member, owner):
    now = timezone.now()
    make_lead(
        acme,
        name="Tan Wei Ling",
        email="weiling@lioncity.sg",
        company="Lion City",
        phone="+6591234567",
        status="new",
        source="capture_form",
        assigned_to=member,
    )
    make_lead(
        acme,
        name="Rajesh Kumar",
        email="rajesh@marina.sg",
        company="Marina Consulting",
        phone="+6581112222",
        status="qualified",
        source="referral",
        assigned_to=owner,
        next_follow_up=now - timedelta(hours=1),
    )
    make_lead(acme, name="Siti Rahman", email="siti@gmail.com", company="Jurong Precision",
              status="lost", lost_reason="No budget", source="event",
              next_follow_up=now + timedelta(days=30))  # fmt: skip
    return now


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("wei", {"Tan Wei Ling"}),
        ("MARINA", {"Rajesh Kumar"}),
        ("gmail", {"Siti Rahman"}),
        ("precision", {"Siti Rahman"}),
        ("9123 4567", {"Tan Wei Ling"}),
        ("8111-2222", {"Rajesh Kumar"}),
        ("nobody at all", set()),
        ("", {"Tan Wei Ling", "Rajesh Kumar", "Siti Rahman"}),
    ],
)
def test_search(acme, owner, sample, query, expected):
    response = client_for(acme, owner).get("/leads/", {"q": query})
    assert names(response) == expected


def test_search_uses_the_index(acme, sample):
    with schema_context(acme.schema_name), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        # Unordered: only the search index can then avoid reading every row.
        leads = Lead.objects.search("marina").order_by().only("id")
        sql, params = leads.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "lead_search" in plan


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "qualified"}, {"Rajesh Kumar"}),
        ({"source": "event"}, {"Siti Rahman"}),
        ({"assigned": "me"}, {"Tan Wei Ling"}),
        ({"assigned": "none"}, {"Siti Rahman"}),
        ({"due": "today"}, {"Rajesh Kumar"}),  # Siti's is in a month, and she is lost anyway
        ({"status": "new", "q": "rajesh"}, set()),
        ({"status": "bogus"}, {"Tan Wei Ling", "Rajesh Kumar", "Siti Rahman"}),  # ignored
    ],
)
def test_filters(acme, member, sample, params, expected):
    response = client_for(acme, member).get("/leads/", params)
    assert response.status_code == 200
    assert names(response) == expected


def test_filter_by_assignee_id(acme, member, owner, sample):
    response = client_for(acme, member).get("/leads/", {"assigned": str(owner.pk)})
    assert names(response) == {"Rajesh Kumar"}


def test_created_range(acme, owner):
    old, new = make_leads(acme, 2)
    with schema_context(acme.schema_name):
        Lead.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    today = timezone.localdate()
    client = client_for(acme, owner)
    recent = client.get("/leads/", {"created_from": str(today - timedelta(days=7))})
    assert names(recent) == {new.name}
    older = client.get("/leads/", {"created_to": str(today - timedelta(days=30))})
    assert names(older) == {old.name}
    backwards = client.get(
        "/leads/", {"created_from": str(today), "created_to": str(today - timedelta(days=3))}
    )
    assert b"The end date comes before the start date." in backwards.content


def test_sort(acme, owner, sample):
    client = client_for(acme, owner)
    by_name = [lead.name for lead in client.get("/leads/", {"sort": "name"}).context["leads"]]
    assert by_name == ["Rajesh Kumar", "Siti Rahman", "Tan Wei Ling"]
    reverse = [lead.name for lead in client.get("/leads/", {"sort": "-name"}).context["leads"]]
    assert reverse == list(reversed(by_name))
    by_company = client.get("/leads/", {"sort": "company"}).context["leads"]
    assert [lead.company for lead in by_company] == [
        "Jurong Precision",
        "Lion City",
        "Marina Consulting",
    ]


def test_pages_do_not_repeat_or_skip(acme, owner):
    make_leads(acme, 60)
    client = client_for(acme, owner)
    seen = []
    for number in (1, 2, 3):
        page = client.get("/leads/", {"page": number, "sort": "name"})
        seen += [lead.name for lead in page.context["leads"]]
    assert len(seen) == 60 == len(set(seen))
    assert b"Page 3 of 3" in page.content


def test_htmx_gets_the_results_partial(acme, owner, sample):
    response = client_for(acme, owner).get("/leads/", {"q": "siti"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="lead-results"' in body
    assert "Siti Rahman" in body and "Tan Wei Ling" not in body
    assert "HX-Request" in response["Vary"]


def test_sort_and_page_links_keep_the_filters(acme, owner):
    make_leads(acme, 30, status="contacted")
    page = client_for(acme, owner).get("/leads/", {"status": "contacted"}).content.decode()
    assert "?status=contacted&amp;page=2" in page
    assert "?status=contacted&amp;sort=name" in page


def test_queries_do_not_grow_with_the_number_of_leads(acme, owner, django_assert_num_queries):
    make_leads(acme, 10, status="new")
    client = client_for(acme, owner)
    client.get("/leads/")  # warm the host and session caches
    with CaptureQueriesContext(connection) as ten:
        assert client.get("/leads/").status_code == 200
    make_leads(acme, 990, status="contacted")
    with django_assert_num_queries(len(ten.captured_queries)):
        response = client.get("/leads/")
    assert response.context["page"].paginator.count == 1000
    assert len(response.context["leads"]) == 25


# --- Inline changes ----------------------------------------------------------------------------


def test_inline_status_change(acme, member):
    lead = make_lead(acme, name="Tan Wei Ling")
    response = client_for(acme, member).post(
        f"/leads/{lead.pk}/status/",
        {"status": "contacted", "inline": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    row = response.content.decode()
    assert f'id="lead-{lead.pk}"' in row
    assert "Status of Tan Wei Ling: Contacted. Change it" in row
    with schema_context(acme.schema_name):
        assert Lead.objects.get(pk=lead.pk).status == "contacted"
        event = Event.objects.get(event_type="lead.status_changed")
        assert event.data == {"lead": str(lead.pk), "from": "new", "to": "contacted"}
        assert event.actor == member


def test_inline_lost_asks_for_a_reason(acme, member):
    lead = make_lead(acme)
    response = client_for(acme, member).post(
        f"/leads/{lead.pk}/status/", {"status": "lost", "inline": "1"}, HTTP_HX_REQUEST="true"
    )
    assert response["HX-Redirect"] == f"/leads/{lead.pk}/status/?status=lost"
    assert in_schema(acme, lambda: Lead.objects.get(pk=lead.pk).status) == "new"


def test_inline_assignment(acme, member, admin):
    lead = make_lead(acme)
    response = client_for(acme, member).post(
        f"/leads/{lead.pk}/assign/",
        {"assigned_to": str(admin.pk), "inline": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert f"Assignee of Person 0000: {admin.name}. Change it" in response.content.decode()
    assert in_schema(acme, lambda: Lead.objects.get(pk=lead.pk).assigned_to_id) == admin.pk


def test_a_rows_status_opens_its_editor_in_place(acme, member):
    """Clicking the status asks for a small form (HTMX); without JavaScript the same link is the
    lead's status page."""
    lead = make_lead(acme, name="Tan Wei Ling", status="contacted")
    client = client_for(acme, member)
    editor = client.get(f"/leads/{lead.pk}/status/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in editor
    assert '<option value="contacted" selected>' in editor
    assert f'hx-post="/leads/{lead.pk}/status/"' in editor and 'hx-trigger="change"' in editor
    page = client.get(f"/leads/{lead.pk}/status/").content.decode()
    assert "<html" in page and "Change status" in page


def test_a_rows_assignee_opens_its_editor_in_place(acme, member, admin):
    lead = make_lead(acme, assigned_to=admin)
    client = client_for(acme, member)
    editor = client.get(f"/leads/{lead.pk}/assign/", HTTP_HX_REQUEST="true").content.decode()
    assert f'<option value="{admin.pk}" selected>' in editor
    assert "<html" not in editor
    page = client.get(f"/leads/{lead.pk}/assign/").content.decode()
    assert "<html" in page and f'<option value="{admin.pk}" selected>' in page
    assert client.post(f"/leads/{lead.pk}/assign/", {"assigned_to": ""}).status_code == 302
    assert in_schema(acme, lambda: Lead.objects.get(pk=lead.pk).assigned_to_id) is None


def test_an_assignee_who_left_stays_in_the_editor(acme, member, outsider):
    lead = make_lead(acme, assigned_to=outsider)
    editor = client_for(acme, member).get(f"/leads/{lead.pk}/assign/", HTTP_HX_REQUEST="true")
    assert f'<option value="{outsider.pk}" selected>' in editor.content.decode()
    assert "(left)" in editor.content.decode()


def test_a_viewer_gets_no_editor(acme, viewer):
    lead = make_lead(acme)
    client = client_for(acme, viewer)
    assert client.get(f"/leads/{lead.pk}/status/", HTTP_HX_REQUEST="true").status_code == 403
    assert client.get(f"/leads/{lead.pk}/assign/").status_code == 403


def test_cannot_assign_to_an_outsider(acme, member, outsider):
    lead = make_lead(acme)
    client_for(acme, member).post(f"/leads/{lead.pk}/assign/", {"assigned_to": str(outsider.pk)})
    assert in_schema(acme, lambda: Lead.objects.get(pk=lead.pk).assigned_to_id) is None


def test_viewer_cannot_change_inline(acme, viewer):
    lead = make_lead(acme)
    client = client_for(acme, viewer)
    assert client.post(f"/leads/{lead.pk}/status/", {"status": "won"}).status_code == 403
    assert client.post(f"/leads/{lead.pk}/assign/", {"assigned_to": ""}).status_code == 403
    assert in_schema(acme, lambda: Lead.objects.get(pk=lead.pk).status) == "new"


# --- Bulk actions ------------------------------------------------------------------------------


def test_bulk_assign_and_status(acme, member, admin):
    leads = make_leads(acme, 3)
    ids = [str(lead.pk) for lead in leads[:2]]
    client = client_for(acme, member)
    response = client.post(
        "/leads/bulk/", {"action": "assign", "leads": ids, "assigned_to": str(admin.pk)}
    )
    assert response.status_code == 302
    response = client.post(
        "/leads/bulk/",
        {"action": "status", "leads": ids, "status": "lost", "lost_reason": "Chose a rival"},
    )
    with schema_context(acme.schema_name):
        changed = Lead.objects.filter(pk__in=ids)
        assert {(lead.assigned_to_id, lead.status, lead.lost_reason) for lead in changed} == {
            (admin.pk, "lost", "Chose a rival")
        }
        assert Lead.objects.get(pk=leads[2].pk).status == "new"
        assert Event.objects.filter(event_type="lead.assigned").count() == 2


def test_bulk_status_lost_needs_a_reason(acme, member):
    lead = make_lead(acme)
    client = client_for(acme, member)
    client.post("/leads/bulk/", {"action": "status", "leads": [str(lead.pk)], "status": "lost"})
    assert in_schema(acme, lambda: Lead.objects.get(pk=lead.pk).status) == "new"


def test_bulk_delete_asks_first_then_deletes(acme, admin):
    leads = make_leads(acme, 3)
    ids = [str(lead.pk) for lead in leads[:2]]
    client = client_for(acme, admin)
    confirm = client.post("/leads/bulk/", {"action": "delete", "leads": ids})
    assert confirm.status_code == 200
    assert b"Delete 2 leads?" in confirm.content
    assert in_schema(acme, Lead.objects.count) == 3
    client.post("/leads/bulk/", {"action": "delete", "leads": ids, "confirm": "on"})
    with schema_context(acme.schema_name):
        assert list(Lead.objects.values_list("pk", flat=True)) == [leads[2].pk]
        assert Event.objects.filter(event_type="lead.deleted").count() == 2


def test_bulk_delete_from_htmx_goes_to_the_confirmation_page(acme, owner):
    lead = make_lead(acme)
    client = client_for(acme, owner)
    response = client.post(
        "/leads/bulk/", {"action": "delete", "leads": [str(lead.pk)]}, HTTP_HX_REQUEST="true"
    )
    page = client.get(response["HX-Redirect"])
    assert page.status_code == 200
    assert b"Delete 1 lead?" in page.content


def test_member_cannot_bulk_delete(acme, member):
    lead = make_lead(acme)
    client_for(acme, member).post(
        "/leads/bulk/", {"action": "delete", "leads": [str(lead.pk)], "confirm": "on"}
    )
    assert in_schema(acme, Lead.objects.count) == 1


def test_bulk_cannot_touch_another_organisations_leads(acme, globex, owner):
    theirs = make_lead(globex, name="Globex lead")
    client_for(acme, owner).post(
        "/leads/bulk/", {"action": "delete", "leads": [str(theirs.pk)], "confirm": "on"}
    )
    assert in_schema(globex, lambda: Lead.objects.filter(pk=theirs.pk).exists())


def test_bulk_with_nothing_ticked_says_so(acme, member):
    response = client_for(acme, member).post("/leads/bulk/", {"action": "status"}, follow=True)
    assert b"Tick at least one lead first." in response.content


def test_bulk_garbage_is_refused_politely(acme, member):
    response = client_for(acme, member).post(
        "/leads/bulk/", {"action": "explode", "leads": ["not-a-uuid"]}, follow=True
    )
    assert response.status_code == 200


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("outsider", 403), ("member", 302)])
def test_bulk_permissions(request, acme, role, status):
    lead = make_lead(acme)
    client = client_for(acme, request.getfixturevalue(role))
    response = client.post("/leads/bulk/", {"action": "status", "leads": [str(lead.pk)],
                                            "status": "won"})  # fmt: skip
    assert response.status_code == status


def test_bulk_wrong_method(acme, owner):
    assert client_for(acme, owner).get("/leads/bulk/").status_code == 405


def test_counts_stop_at_the_cap_and_searches_still_sort(acme, owner, monkeypatch):
    from nexuscore.leads.views import LeadPaginator

    monkeypatch.setattr(LeadPaginator, "COUNT_CAP", 5)
    monkeypatch.setattr(LeadPaginator, "SEARCH_COUNT_CAP", 5)
    leads = make_leads(acme, 8, company="Capped Company")
    client = client_for(acme, owner)
    page = client.get("/leads/", {"sort": "name"})
    assert b"More than 5" in page.content
    assert [lead.name for lead in page.context["leads"]] == sorted(lead.name for lead in leads)
    few = client.get("/leads/", {"q": "person 0003", "sort": "-name"})
    assert [lead.name for lead in few.context["leads"]] == ["Person 0003"]
    some = client.get("/leads/", {"q": "capped", "sort": "-name"})  # 8 matches: over the cap
    assert [lead.name for lead in some.context["leads"]] == sorted(
        (lead.name for lead in leads), reverse=True
    )
    make_lead(acme, name="Zed Capped", company="Capped Company")
    monkeypatch.setattr(LeadPaginator, "SEARCH_COUNT_CAP", 50)  # a selective search now
    sparse = client.get("/leads/", {"q": "capped", "sort": "-name"})
    assert sparse.context["leads"][0].name == "Zed Capped"
    assert sparse.context["page"].paginator.count == 9

"""The dashboard: lead figures against the previous period, conversion, pipeline, the chart by
source with its table, follow-ups due, and the sections that were there before."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from nexuscore.leads.models import Lead
from tests.conftest import client_for, make_lead, make_leads

ROLES = ["owner", "admin", "member", "viewer"]


@pytest.mark.parametrize("role", ROLES)
def test_every_member_sees_the_dashboard(request, acme, role):
    make_lead(acme, name="Tan Wei Ling", source="referral")
    response = client_for(acme, request.getfixturevalue(role)).get("/")
    assert response.status_code == 200
    page = response.content.decode()
    for heading in ("Leads", "New leads by source", "Pipeline", "Your follow-ups due today",
                    "Usage this period", "Organisation details", "Recent activity"):  # fmt: skip
        assert heading in page
    assert "<caption>New leads per week by source</caption>" in page  # beside the chart
    assert '<th scope="col">Referral</th>' in page
    assert "style=" not in page and "<script>" not in page


def test_figures(acme, owner):
    now = timezone.now()
    this_week = make_leads(acme, 3, status="won")
    make_leads(acme, 1, status="lost")
    old = make_leads(acme, 2)
    with schema_context(acme.schema_name):
        Lead.objects.filter(pk__in=[lead.pk for lead in old]).update(
            created_at=now - timedelta(days=200)
        )
    figures = client_for(acme, owner).get("/").context["figures"]
    assert figures["week"] == 4
    assert figures["recent"] == 4 and figures["recent_won"] == 3
    assert figures["conversion"] == 75.0
    assert len(this_week) == 3


def test_pipeline_and_chart(acme, owner):
    make_leads(acme, 2, status="qualified", source="event")
    make_leads(acme, 1, status="new", source="capture_form")
    context = client_for(acme, owner).get("/").context
    pipeline = {stage["status"]: stage["count"] for stage in context["pipeline"]}
    assert pipeline["qualified"] == 2 and pipeline["new"] == 1 and pipeline["won"] == 0
    chart = context["chart"]
    assert len(chart.bars) == 12
    assert chart.bars[-1].total == 3
    assert {item.series for item in chart.legend} == {"Event", "Website form"}


def test_follow_ups_due_are_mine_and_today(acme, member, owner):
    now = timezone.now()
    make_lead(acme, name="Mine Overdue", assigned_to=member, next_follow_up=now - timedelta(days=1))
    make_lead(acme, name="Not Mine", assigned_to=owner, next_follow_up=now)
    make_lead(acme, name="Mine Next Week", assigned_to=member, next_follow_up=now + timedelta(7))
    make_lead(acme, name="Mine Closed", assigned_to=member, next_follow_up=now, status="won")
    page = client_for(acme, member).get("/").content.decode()
    assert "Mine Overdue" in page and "Overdue since" in page
    assert "Not Mine" not in page and "Mine Next Week" not in page and "Mine Closed" not in page


def test_dashboard_anonymous_outsider_and_method(acme, outsider, owner):
    assert client_for(acme).get("/").status_code == 302
    assert client_for(acme, outsider).get("/").status_code == 403
    assert client_for(acme, owner).post("/").status_code == 405


def test_dashboard_queries_do_not_grow(acme, owner, django_assert_max_num_queries):
    make_leads(acme, 500)
    client = client_for(acme, owner)
    client.get("/")
    with django_assert_max_num_queries(20):
        client.get("/")


def test_figures_are_kept_in_the_process_for_each_organisation_apart(acme, globex, owner, outsider):
    """The second visit reads the figures from the process's own memory (no aggregate over the
    leads, no database cache), and another organisation never gets acme's."""
    make_leads(acme, 3, status="qualified")
    make_leads(globex, 1, status="won")
    in_acme = client_for(acme, owner)
    in_acme.get("/")
    with CaptureQueriesContext(connection) as queries:
        pipeline = {
            stage["status"]: stage["count"] for stage in in_acme.get("/").context["pipeline"]
        }
    assert pipeline["qualified"] == 3
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    assert "nexuscore_cache" not in sql
    assert "FILTER (WHERE" not in sql  # lead_figures()' aggregate
    context = client_for(globex, outsider).get("/").context
    pipeline = {stage["status"]: stage["count"] for stage in context["pipeline"]}
    assert pipeline == {**dict.fromkeys(pipeline, 0), "won": 1}

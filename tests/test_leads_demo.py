"""Demo leads for seed_demo: realistic Singapore data, quick, and not added twice."""

from django_tenants.utils import schema_context

from nexuscore.demo.leads import create_demo_leads
from nexuscore.leads.models import Lead, LeadNote
from tenants.models import Membership


def test_demo_leads(acme):
    people = [m.user for m in Membership.objects.filter(tenant=acme).select_related("user")]
    assert create_demo_leads(acme, people, 300) == 300
    assert create_demo_leads(acme, people, 300) == 0  # safe to run again
    with schema_context(acme.schema_name):
        leads = list(Lead.objects.all())
        assert len(leads) == 300
        assert all(lead.phone == "" or lead.phone.startswith("+65") for lead in leads)
        assert {lead.status for lead in leads} == set(Lead.Status.values)
        assert len({lead.source for lead in leads}) >= 5
        assert any(lead.utm_campaign for lead in leads)
        assert any(lead.next_follow_up for lead in leads)
        assert all(lead.lost_reason for lead in leads if lead.status == "lost")
        assert all(lead.consent_given_at for lead in leads if lead.source == "capture_form")
        assert len({lead.created_at.date() for lead in leads}) > 30  # spread over months
        assert LeadNote.objects.exists()
        assert Lead.objects.search("tan").exists()

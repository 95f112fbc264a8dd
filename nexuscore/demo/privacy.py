"""Two demo privacy requests for a demo organisation, so its privacy inbox is not empty: a
correction confirmed yesterday and a deletion request already overdue."""

from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import schema_context

from nexuscore.privacy.models import DEADLINE_DAYS, DSARRequest


def create_demo_requests(tenant) -> int:
    """Returns how many were created: none if the organisation already has requests."""
    now = timezone.now()
    specs = [
        ("mei.ling.demo@example.sg", DSARRequest.Type.CORRECTION, 1, DSARRequest.Status.OPEN),
        ("rahul.demo@example.sg", DSARRequest.Type.DELETION, 33, DSARRequest.Status.OPEN),
    ]
    with schema_context(tenant.schema_name):
        if DSARRequest.objects.exists():
            return 0
        for email, kind, days_ago, status in specs:
            confirmed = now - timedelta(days=days_ago)
            request = DSARRequest(
                email=email,
                request_type=kind,
                status=status,
                verified_at=confirmed,
                due_at=confirmed + timedelta(days=DEADLINE_DAYS),
            )
            if kind == DSARRequest.Type.CORRECTION:
                request.metadata = {
                    "correction": {"field": "company", "value": "Lion City Pte Ltd"}
                }
            request.new_token()
            request.save()
            DSARRequest.objects.filter(pk=request.pk).update(requested_at=confirmed)
    return len(specs)

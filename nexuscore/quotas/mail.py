"""The email an owner gets when a SOFT limit is passed (once per period)."""

from django.template.loader import render_to_string

from nexuscore.mail.outbox import queue_email


def send_overage_notice(tenant, metric, total: int, limit: int, *, usage_record_id) -> None:
    """Queue the notice in the caller's transaction; one per usage record (metric and period)."""
    context = {
        "tenant": tenant,
        "metric": metric,
        "total": total,
        "limit": limit,
        "usage_url": tenant.url_for("usage"),
    }
    queue_email(
        subject=f"{tenant.name} has gone past its plan's {metric.label.lower()}",
        body=render_to_string("emails/quota_overage.txt", context),
        to=[tenant.owner.email],
        dedupe_key=f"quota-overage:{usage_record_id}",
        schema_name=tenant.schema_name,
    )

"""The email an owner gets when a SOFT limit is passed (once per period)."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string


def send_overage_notice(tenant, metric, total: int, limit: int) -> None:
    context = {
        "tenant": tenant,
        "metric": metric,
        "total": total,
        "limit": limit,
        "usage_url": f"{settings.SITE_URL.replace('://', f'://{tenant.schema_name}.', 1)}/usage/",
    }
    send_mail(
        subject=f"{tenant.name} has gone past its plan's {metric.label.lower()}",
        message=render_to_string("emails/quota_overage.txt", context),
        from_email=None,
        recipient_list=[tenant.owner.email],
    )

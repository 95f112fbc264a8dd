"""Handing a signed-in person from the public host to an organisation's host.

Session cookies are host-only, so a person signed in on the public site is not yet signed in on
acme.<domain>. The public host issues a signed token naming a single-use HandoverToken row; the
tenant host checks the signature, the age (settings.HANDOVER_MAX_AGE_SECONDS), that the token
was made for this host, and deletes the row as it signs the person in.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from nexuscore.accounts.models import HandoverToken

SALT = "nexuscore.accounts.handover"


def issue_handover_token(user, tenant) -> str:
    # Tokens a person never used are useless after a minute; tidy them as new ones are made.
    HandoverToken.objects.filter(created_at__lt=timezone.now() - timedelta(hours=1)).delete()
    row = HandoverToken.objects.create(user=user, schema_name=tenant.schema_name)
    return signing.dumps({"id": str(row.id), "schema": tenant.schema_name}, salt=SALT)


def redeem_handover_token(token: str, schema_name: str):
    """The user the token was issued to, or None if it is forged, expired, used or for
    another organisation."""
    max_age = settings.HANDOVER_MAX_AGE_SECONDS
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(data, dict) or data.get("schema") != schema_name:
        return None
    with transaction.atomic(using="default"):
        row = (
            HandoverToken.objects.select_for_update()
            .select_related("user")
            .filter(
                id=data.get("id"),
                schema_name=schema_name,
                created_at__gte=timezone.now() - timedelta(seconds=max_age),
            )
            .first()
        )
        if row is None:
            return None
        row.delete()
    return row.user if row.user.is_active else None

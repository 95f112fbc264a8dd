"""Handing a signed-in person from the public host to an organisation's host.

Session cookies are host-only, so a person signed in on the public site is not yet signed in on
acme.<domain>. The hand-over is bound to the browser that asked for it, as OAuth binds an
authorisation to its `state`:

1. The organisation's host begins it: it puts a random value in a short-lived cookie of its own
   (STATE_COOKIE) and sends the browser to the public host with only a hash of that value.
2. The public host, where the person is signed in, issues a signed token naming a single-use
   HandoverToken row, the organisation and that hash, and sends the browser back.
3. The organisation's host checks the signature, the age (settings.HANDOVER_MAX_AGE_SECONDS),
   that the token was made for this host and that it carries the hash of this browser's cookie,
   then deletes the row (and the cookie) as it signs the person in.

Without step 1 anyone could get a token for their own account and make someone else's browser
open it, signing that person into the sender's organisation, where whatever they type goes to
the sender (login CSRF). Such a token now carries the hash of the sender's cookie, which no
other browser has.
"""

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from nexuscore.accounts.models import HandoverToken
from tenants.hosts import tenant_url

SALT = "nexuscore.accounts.handover"
STATE_COOKIE = "nexuscore_handover"
STATE_COOKIE_PATH = "/accounts/handover/"
# Long enough to sign in on the public host on the way (with a second factor); the token
# itself still lives only HANDOVER_MAX_AGE_SECONDS.
STATE_MAX_AGE_SECONDS = 10 * 60
_STATE_HASH = re.compile(r"[0-9a-f]{64}")


def start_url(request, tenant, next_path: str | None = None) -> str:
    """Where the public host sends a person to open `tenant`: its host begins the hand-over."""
    url = tenant_url(request, tenant, reverse("handover_start", urlconf=settings.ROOT_URLCONF))
    next_path = safe_next(next_path)
    return url if next_path == "/" else f"{url}?{urlencode({'next': next_path})}"


def safe_next(next_path: str | None) -> str:
    """`next_path` if it is a path on the host that asks, else "/": a hand-over never sends
    anyone to another site (or another organisation)."""
    if (
        next_path
        and next_path.startswith("/")
        and url_has_allowed_host_and_scheme(next_path, allowed_hosts=None)
    ):
        return next_path
    return "/"


def new_state() -> str:
    return secrets.token_urlsafe(32)


def hash_state(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def is_state_hash(value: str) -> bool:
    return bool(_STATE_HASH.fullmatch(value))


def set_state_cookie(response, state: str) -> None:
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=STATE_MAX_AGE_SECONDS,
        path=STATE_COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def delete_state_cookie(response) -> None:
    response.delete_cookie(STATE_COOKIE, path=STATE_COOKIE_PATH, samesite="Lax")


def issue_handover_token(user, tenant, state_hash: str) -> str:
    """A token for `user` on `tenant`'s host, redeemable only with the cookie whose hash is
    `state_hash`."""
    # Tokens a person never used are useless after a minute; tidy them as new ones are made.
    HandoverToken.objects.filter(created_at__lt=timezone.now() - timedelta(hours=1)).delete()
    row = HandoverToken.objects.create(user=user, schema_name=tenant.schema_name)
    payload = {"id": str(row.id), "schema": tenant.schema_name, "state": state_hash}
    return signing.dumps(payload, salt=SALT)


def redeem_handover_token(token: str, schema_name: str, state: str):
    """The user the token was issued to, or None if it is forged, expired, used, for another
    organisation, or not for this browser (`state` is its hand-over cookie)."""
    max_age = settings.HANDOVER_MAX_AGE_SECONDS
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(data, dict) or data.get("schema") != schema_name:
        return None
    if not state or not hmac.compare_digest(str(data.get("state", "")), hash_state(state)):
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

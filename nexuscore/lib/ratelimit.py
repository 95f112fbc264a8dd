"""The client's address and rate limits: the one place each is worked out.

`client_address(request)` is the address a request came from. Directly, that is REMOTE_ADDR.
Behind load balancers or proxies (settings.TRUSTED_PROXY_COUNT of them, each appending the
address it received the request from to X-Forwarded-For), it is the entry that the outermost
trusted proxy appended, counted from the right: entries further left were written by the client
and prove nothing. allauth's limits read the same function (the account adapter's
get_client_ip), so sign-in, sign-up and our own forms agree on who is asking.

`RateLimit` counts attempts in a sliding window, in the database cache that every web process and
the worker share. Its keys live in the public namespace (nexuscore.lib.cache.make_key), like
allauth's: one address or one account has one count whatever host it tries, so adding
organisations does not add attempts.
"""

import hashlib
import ipaddress
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

# The cache key prefix of every limit; nexuscore.lib.cache keeps it out of the tenant namespace.
KEY_PREFIX = "ratelimit:"


def _ip(value: str) -> str | None:
    """`value` as a normalised IP address (a port or IPv6 brackets removed), or None."""
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 203.0.113.7:443
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_address(request) -> str:
    """The address of the person making the request, as far as our own proxies vouch for it."""
    remote = _ip(request.META.get("REMOTE_ADDR", "")) or "unknown"
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    forwarded = [hop.strip() for hop in header.split(",") if hop.strip()]
    if not forwarded:
        return remote  # reached us without passing the proxies (a health check, say)
    # With fewer entries than proxies, the leftmost is the furthest hop anyone vouches for.
    return _ip(forwarded[-min(trusted, len(forwarded))]) or remote


def _network(address: str) -> str:
    """One IPv6 subscriber holds a whole /64, so an IPv6 address counts as its /64."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False).network_address)
    return address


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` attempts per `window` seconds, for each identity (an address, an email).

        REQUESTS = RateLimit("privacy-request", limit=5, window=600)
        if not REQUESTS.attempt(ip=client_address(request), email=email): ...refuse...

    Identities are counted separately; an attempt is refused when any of them is at its limit,
    and then counts for none of them.
    """

    name: str
    limit: int
    window: int

    def _key(self, kind: str, value: str, within: str) -> str:
        if kind == "ip":
            value = _network(value)
        digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
        return f"{KEY_PREFIX}{self.name}:{within}:{kind}:{digest}"

    def _recent(self, key: str, now: float) -> list[float]:
        return [moment for moment in cache.get(key, []) if moment > now - self.window]

    def attempt(self, *, within: str = "", **identities: str) -> bool:
        """Count an attempt for each identity; False (and nothing counted) when over the limit.

        `within` narrows the count to one scope (an organisation's form); without it an identity
        has one count across every host. The window slides: an attempt stops counting `window`
        seconds after it was made. (A counter with cache.incr would not do: the database cache's
        incr() rewrites the entry with the default timeout.) Two requests at the same instant may
        both pass at the limit; these limits are for abuse, not accounting.
        """
        now = time.time()
        keys = [self._key(kind, value, within) for kind, value in identities.items()]
        recent = {key: self._recent(key, now) for key in keys}
        if any(len(times) >= self.limit for times in recent.values()):
            return False
        for key, times in recent.items():
            cache.set(key, [*times, now], self.window)
        return True

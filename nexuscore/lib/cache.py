"""Cache keys: an organisation's entries carry its schema; rate limits are counted globally.

django-tenants' key function prefixes every key with the schema of the current connection, so
one organisation never reads another's entries. Rate limits must count across hosts instead: an
attacker trying passwords for one account on every organisation's host is one attacker, however
many organisations exist. Keys under GLOBAL_PREFIXES (allauth's limits and those of
nexuscore.lib.ratelimit) therefore stay in the public schema's namespace wherever they are made.
"""

from django_tenants.cache import make_key as tenant_make_key
from django_tenants.cache import reverse_key  # noqa: F401  (settings name it beside make_key)
from django_tenants.utils import get_public_schema_name

GLOBAL_PREFIXES = ("allauth:rl:", "ratelimit:")


def make_key(key: str, key_prefix: str, version) -> str:
    if key.startswith(GLOBAL_PREFIXES):
        return f"{get_public_schema_name()}:{key_prefix}:{version}:{key}"
    return tenant_make_key(key, key_prefix, version)

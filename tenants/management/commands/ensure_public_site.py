"""manage.py ensure_public_site: the public tenant and its host names. Safe to run again.

Without it no host answers: the public site is itself a django-tenants tenant (schema "public")
reached through the hosts in settings.PUBLIC_HOSTS.
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from tenants.models import Domain, Tenant


def ensure_public_site() -> Tenant:
    public, _ = Tenant.objects.get_or_create(schema_name="public", defaults={"name": "NexusCore"})
    for host in settings.PUBLIC_HOSTS:
        Domain.objects.get_or_create(
            domain=host, defaults={"tenant": public, "is_primary": host == settings.BASE_DOMAIN}
        )
    return public


class Command(BaseCommand):
    help = "Create the public site's tenant and host names if they are missing."

    def handle(self, *args, **options):
        public = ensure_public_site()
        hosts = ", ".join(public.domains.values_list("domain", flat=True))
        self.stdout.write(f"Public site answers on: {hosts}")

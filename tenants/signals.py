"""Keep the per-process host cache honest when tenants or domains change in this process."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tenants.middleware import forget_hosts
from tenants.models import Domain, Tenant


@receiver([post_save, post_delete], sender=Tenant)
@receiver([post_save, post_delete], sender=Domain)
def tenant_changed(**kwargs):
    forget_hosts()

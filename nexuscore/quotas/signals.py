"""Keep the members gauge equal to the memberships an organisation has, however they change."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from nexuscore.quotas.models import set_gauge
from tenants.models import Membership


@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
def count_members(sender, instance, **kwargs):
    if kwargs.get("created") is False:
        return  # a role change: the number is the same
    tenant = instance.tenant
    set_gauge(tenant, "members", Membership.objects.filter(tenant=tenant).count())

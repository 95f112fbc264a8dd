"""The per-process host cache (tenants/middleware.py) keeps the plan name that the trial banner
shows; a subscription changed in this process makes it read again, as a tenant's change does."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from nexuscore.billing.models import Subscription
from tenants.middleware import forget_hosts


@receiver([post_save, post_delete], sender=Subscription)
def subscription_changed(**kwargs):
    forget_hosts()

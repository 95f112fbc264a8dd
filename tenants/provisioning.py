"""provision_tenant(): the one way an organisation comes into being."""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task
from django_tenants.utils import get_public_schema_name, schema_context

from nexuscore.audit.models import record_event
from nexuscore.billing.models import Subscription
from tenants.models import Domain, Membership, Tenant, slug_problem
from tenants.schemas import claim_pooled_schema

log = logging.getLogger(__name__)


def slug_taken(slug: str) -> bool:
    return Tenant.objects.filter(schema_name__iexact=slug).exists()


def provision_tenant(*, name: str, slug: str, owner, plan=None, **details) -> Tenant:
    """Create the organisation, its schema, its host name and the owner's membership, and start
    a trial of `plan` when one is given.

    `details` are further Tenant fields (uen, is_gst_registered, gst_number, billing_email, ...).
    Raises ValidationError, keyed by field, when anything is unacceptable; nothing is left
    behind in that case.
    """
    slug = (slug or "").strip().lower()
    problem = slug_problem(slug)
    if problem is None and slug_taken(slug):
        problem = "This subdomain is already taken."
    if problem:
        raise ValidationError({"slug": problem})

    tenant = Tenant(schema_name=slug, name=name, owner=owner, **details)
    tenant.full_clean(exclude=["schema_name"])
    with schema_context(get_public_schema_name()), transaction.atomic():
        # A pooled schema is already migrated: renaming it is the whole schema step. Without
        # one, django-tenants creates the schema and runs the migrations (slow but correct).
        tenant.auto_create_schema = not claim_pooled_schema(slug)
        if tenant.auto_create_schema:
            log.warning("schema pool empty: migrating a new schema for %s", slug)
        tenant.save(verbosity=0)
        Domain.objects.create(domain=tenant.primary_host(), tenant=tenant, is_primary=True)
        Membership.objects.create(
            tenant=tenant, user=owner, role=Membership.Role.OWNER, joined_at=timezone.now()
        )
        data = {"name": name, "slug": slug, "uen": tenant.uen}
        if plan is not None:
            subscription = Subscription.start_trial(tenant, plan)
            tenant.trial_ends_at = subscription.trial_end
            tenant.save(update_fields=["trial_ends_at"])
            data["plan"] = plan.sku
        record_event("tenant.created", actor=owner, tenant=tenant, data=data, schema_name="public")
        record_event(
            "organisation.created", actor=owner, tenant=tenant, data=data, schema_name=slug
        )
        transaction.on_commit(lambda: async_task("tenants.schemas.fill_schema_pool"))
    return tenant

"""create_tenant(): an organisation's rows and schema, the base under every way one comes into
being (nexuscore.onboarding.provisioning.provision_tenant adds its trial and audit events)."""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import Domain, Membership, Tenant, slug_problem
from tenants.schemas import claim_pooled_schema

log = logging.getLogger(__name__)


def slug_taken(slug: str) -> bool:
    return Tenant.objects.filter(schema_name__iexact=slug).exists()


def create_tenant(*, name: str, slug: str, owner, **details) -> Tenant:
    """Create the organisation, its schema, its host name and the owner's membership.

    `details` are further Tenant fields (uen, is_gst_registered, gst_number, billing_email, ...).
    Raises ValidationError, keyed by field, when anything is unacceptable; nothing is left
    behind in that case (the caller's transaction, or this one's, is rolled back).
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
        transaction.on_commit(lambda: async_task("tenants.schemas.fill_schema_pool"))
    return tenant

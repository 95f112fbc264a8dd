"""provision_tenant(): the one way an organisation comes into being.

Its rows and schema come from tenants.provisioning.create_tenant (the base layer); this adds
what an organisation starts with above it: a trial of the chosen plan and the audit events, in
the same transaction, so an organisation never exists half made.
"""

from django.db import transaction
from django_tenants.utils import get_public_schema_name, schema_context

from nexuscore.audit.models import record_event
from nexuscore.billing.models import Subscription
from tenants.models import Tenant
from tenants.provisioning import create_tenant


def provision_tenant(*, name: str, slug: str, owner, plan=None, **details) -> Tenant:
    """Create the organisation (create_tenant: its schema, host name and the owner's
    membership) and start a trial of `plan` when one is given.

    `details` are further Tenant fields (uen, is_gst_registered, gst_number, billing_email, ...).
    Raises ValidationError, keyed by field, when anything is unacceptable; nothing is left
    behind in that case.
    """
    with schema_context(get_public_schema_name()), transaction.atomic():
        tenant = create_tenant(name=name, slug=slug, owner=owner, **details)
        data = {"name": name, "slug": tenant.schema_name, "uen": tenant.uen}
        if plan is not None:
            subscription = Subscription.start_trial(tenant, plan)
            tenant.trial_ends_at = subscription.trial_end
            tenant.save(update_fields=["trial_ends_at"])
            data["plan"] = plan.sku
        record_event("tenant.created", actor=owner, tenant=tenant, data=data, schema_name="public")
        record_event(
            "organisation.created",
            actor=owner,
            tenant=tenant,
            data=data,
            schema_name=tenant.schema_name,
        )
    return tenant

"""Tenant (an organisation), Domain, Membership, Invitation and the schema pool."""

import re
import uuid
from functools import cache, cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings as conf
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.urls import reverse
from django.utils import timezone
from django_tenants.models import DomainMixin, TenantMixin

from nexuscore.lib.rows import instances, select_list, table
from nexuscore.lib.singapore import normalise_identifier, validate_gst_number, validate_uen
from tenants.hosts import organisation_url

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
# Subdomains people may not take: our own hosts, and names that look official.
# fmt: off
RESERVED_SLUGS = frozenset([
    "www", "admin", "api", "app", "apps", "mail", "email", "smtp", "imap", "pop", "static",
    "media", "assets", "cdn", "public", "help", "support", "status", "docs", "blog", "billing",
    "webhooks", "webhook", "dashboard", "account", "accounts", "login", "signup", "auth",
    "nexuscore", "staff", "root", "system", "test", "dev", "staging", "prod", "production",
    "internal", "pool", "template",
])
# fmt: on


def slug_problem(slug: str) -> str | None:
    """Why `slug` cannot be an organisation's subdomain; None when it can (availability aside)."""
    if not SLUG_PATTERN.match(slug or ""):
        return (
            "Use 3 to 32 lowercase letters, digits and hyphens, starting with a letter and not "
            "ending with a hyphen."
        )
    if "--" in slug:
        return "Two hyphens in a row are not allowed."
    if slug in RESERVED_SLUGS or slug.startswith("pg-"):
        return f"“{slug}” is reserved; please choose another subdomain."
    return None


def validate_slug(slug: str) -> None:
    problem = slug_problem(slug)
    if problem:
        raise ValidationError(problem, code="invalid_slug")


class Tenant(TenantMixin):
    """An organisation. Its schema_name is also its subdomain (the "slug")."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        CLOSED = "closed", "Closed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    uen = models.CharField(
        "UEN",
        max_length=15,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_uen],
        help_text="Unique Entity Number registered with ACRA.",
    )
    is_gst_registered = models.BooleanField("GST registered", default=False)
    gst_number = models.CharField(
        "GST registration number",
        max_length=20,
        blank=True,
        default="",
        validators=[validate_gst_number],
    )
    billing_email = models.EmailField(blank=True, default="")
    billing_phone = models.CharField(max_length=20, blank=True, default="")
    billing_address = models.JSONField(
        default=dict, blank=True, help_text="{street, unit, postal_code, country}"
    )
    timezone = models.CharField(max_length=50, default="Asia/Singapore")
    locale = models.CharField(max_length=10, default="en-SG")
    settings = models.JSONField(default=dict, blank=True)
    owner = models.ForeignKey(
        conf.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_tenants",
    )
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    # Set when the last live subscription is cancelled, cleared when a plan is paid for again:
    # until then the organisation is read-only (tenants/middleware.py reads it, no query).
    subscription_ended_at = models.DateTimeField(null=True, blank=True)
    # Billing's dunning (nexuscore/billing/dunning.py): set when a payment fails, cleared when
    # one succeeds; read-only once settings.BILLING_GRACE_DAYS have passed since.
    payment_overdue_since = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.ACTIVE)
    requires_two_factor = models.BooleanField(
        "require two-factor authentication",
        default=False,
        help_text="Members must use an authenticator app to open this organisation.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    auto_drop_schema = True

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["name"]), models.Index(fields=["created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_gst_registered=False) | ~models.Q(gst_number=""),
                name="gst_registered_requires_number",
                violation_error_message="A GST-registered organisation needs its GST number.",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "suspended", "closed"]),
                name="tenant_status_valid",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def slug(self) -> str:
        return self.schema_name

    @property
    def is_public(self) -> bool:
        return self.schema_name == "public"

    @property
    def is_read_only(self) -> bool:
        return self.status != self.Status.ACTIVE

    @property
    def trial_days_left(self) -> int:
        """Whole days until the free trial ends: 0 on its last day, once over, or with none."""
        if self.trial_ends_at is None:
            return 0
        return max(0, (self.trial_ends_at - timezone.now()).days)

    @property
    def zone(self) -> ZoneInfo:
        """The organisation's time zone (settings.TIME_ZONE, Singapore's, for an unknown name).

        The one home of this fact: the middleware activates it for every request on the
        organisation's host and tenants.tasks for every task run for it, so templates, forms and
        `localtime` agree without converting by hand.
        """
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(conf.TIME_ZONE)

    @cached_property
    def trial_plan_name(self) -> str:
        """The name of the plan the organisation is on (for the trial banner), in one query;
        read once for each host lookup that TenantMiddleware keeps, like the rest of the row."""
        return self.subscriptions.live().values_list("plan__name", flat=True).first() or ""

    def clean(self):
        super().clean()
        if self.uen:
            self.uen = normalise_identifier(self.uen)
        if self.gst_number:
            self.gst_number = normalise_identifier(self.gst_number)
        if self.is_gst_registered and not self.gst_number:
            raise ValidationError(
                {"gst_number": "A GST-registered organisation needs its GST registration number."}
            )

    def primary_host(self) -> str:
        return f"{self.schema_name}.{conf.BASE_DOMAIN}"

    def absolute_url(self, path: str = "/") -> str:
        """An absolute address on the organisation's host where there is no request (emails,
        tasks): SITE_URL's scheme and port with the organisation's host."""
        return organisation_url(self.schema_name, path)

    def url_for(self, name: str, *args) -> str:
        """absolute_url() of the organisation host's URL called `name` (as reverse() takes it)."""
        return self.absolute_url(reverse(name, args=args, urlconf=conf.ROOT_URLCONF))


class Domain(DomainMixin):
    """A host name that reaches a tenant (`acme.<base domain>`, or a public host)."""

    class Meta:
        ordering = ["domain"]

    def __str__(self):
        return self.domain


class MembershipQuerySet(models.QuerySet):
    def of_user(self, user):
        """The person's memberships in organisations that are not closed, by organisation name."""
        return (
            self.filter(user=user)
            .exclude(tenant__status=Tenant.Status.CLOSED)
            .select_related("tenant")
            .order_by("tenant__name")
        )


@cache
def _memberships_sql() -> str:
    return (
        f"SELECT {select_list(Membership, 'm')}, {select_list(Tenant, 't')}"
        f" FROM {table(Membership)} m JOIN {table(Tenant)} t ON t.id = m.tenant_id"
        f" WHERE m.user_id = %s AND t.status <> %s ORDER BY t.name"
    )


def memberships_of(user) -> list["Membership"]:
    """`Membership.objects.of_user(user)`, each with its tenant, in a query written out once:
    every signed-in request asks for it, and the ORM's building of it cost twice PostgreSQL's
    answer (nexuscore/lib/rows.py)."""
    with connection.cursor() as cursor:
        cursor.execute(_memberships_sql(), [user.pk, Tenant.Status.CLOSED.value])
        rows = cursor.fetchall()
    memberships = []
    for row in rows:
        membership, tenant = instances(row, (Membership, Tenant))
        membership.tenant = tenant
        memberships.append(membership)
    return memberships


class Membership(models.Model):
    """A person's role in one organisation. The role decides the permission strings."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Administrator"
        MEMBER = "member", "Member"
        VIEWER = "viewer", "Viewer"

    ROLE_PERMISSIONS = {
        Role.OWNER: frozenset(
            {
                "org.delete", "org.transfer", "org.update", "billing.manage", "billing.view",
                "members.manage", "subscription.manage", "leads.manage", "leads.view",
                "leads.delete", "leads.import", "forms.manage", "invoices.view",
                "privacy.manage", "audit.view",
            }
        ),
        Role.ADMIN: frozenset(
            {
                "org.update", "billing.view", "members.manage", "leads.manage", "leads.view",
                "leads.delete", "leads.import", "forms.manage", "invoices.view",
                "privacy.manage", "audit.view",
            }
        ),
        Role.MEMBER: frozenset({"leads.manage", "leads.view", "invoices.view"}),
        Role.VIEWER: frozenset({"leads.view", "invoices.view"}),
    }  # fmt: skip

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        conf.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role, default=Role.MEMBER)
    invited_by = models.ForeignKey(
        conf.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    joined_at = models.DateTimeField(default=timezone.now)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="one_membership_per_tenant"),
            models.CheckConstraint(
                condition=models.Q(role__in=["owner", "admin", "member", "viewer"]),
                name="membership_role_valid",
            ),
        ]
        indexes = [models.Index(fields=["user", "role"])]

    def __str__(self):
        return f"{self.user} in {self.tenant} ({self.role})"

    @property
    def permissions(self) -> frozenset[str]:
        return self.ROLE_PERMISSIONS[self.role]

    def has_permission(self, permission: str) -> bool:
        return permission in self.permissions


class InvitationQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )


class Invitation(models.Model):
    """An invitation to join an organisation with a role, sent by email.

    The link carries a random token; only its SHA-256 is stored, so the table cannot be used to
    accept anyone's invitation.
    """

    VALID_DAYS = 7

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Membership.Role, default=Membership.Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        conf.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        conf.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            ),
            models.CheckConstraint(
                condition=~models.Q(role="owner"), name="invitation_role_not_owner"
            ),
        ]

    def __str__(self):
        return f"{self.email} to {self.tenant} as {self.role}"


class PooledSchema(models.Model):
    """A schema migrated ahead of time, waiting to become an organisation's schema.

    `fingerprint` names the set of migrations applied to it; a schema whose fingerprint is not
    the current one is stale and is dropped, never handed out.
    """

    schema_name = models.CharField(max_length=63, unique=True)
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return self.schema_name

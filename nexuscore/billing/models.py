"""Plan, Subscription and Invoice: what an organisation pays for, its state,
and the tax invoices NexusCore issues."""

import uuid
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import models, transaction
from django.utils import timezone

GST_RATE = Decimal("0.09")
TRIAL_DAYS = 14


class PlanQuerySet(models.QuerySet):
    def on_sale(self):
        return self.filter(is_active=True).order_by("display_order", "amount_cents")


class Plan(models.Model):
    class Period(models.TextChoices):
        MONTH = "month", "Monthly"
        YEAR = "year", "Yearly"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    sku = models.CharField("SKU", max_length=50, unique=True, help_text="{plan}-{period}")
    description = models.TextField(blank=True, default="")
    billing_period = models.CharField(max_length=5, choices=Period)
    amount_cents = models.PositiveIntegerField(help_text="Price before GST, in cents.")
    currency = models.CharField(max_length=3, default="SGD")
    features = models.JSONField(
        default=list, blank=True, help_text="Lines shown on the price list."
    )
    limits = models.JSONField(
        default=dict,
        blank=True,
        help_text='{"leads_per_month": 500, "members": 3, "privacy_exports_per_month": 5}',
    )
    stripe_price_id = models.CharField(max_length=255, blank=True, default="")
    stripe_product_id = models.CharField(max_length=255, blank=True, default="")
    is_active = models.BooleanField(default=True)
    display_order = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["display_order", "amount_cents"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_cents__gt=0), name="plan_amount_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(billing_period__in=["month", "year"]), name="plan_period_valid"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_billing_period_display().lower()})"

    @property
    def code(self) -> str:
        """The plan without its period: "growth" for "growth-month"."""
        return self.sku.rsplit("-", 1)[0]

    @property
    def amount(self) -> Decimal:
        return (Decimal(self.amount_cents) / 100).quantize(Decimal("0.01"))

    @property
    def amount_with_gst(self) -> Decimal:
        return (self.amount * (1 + GST_RATE)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    @property
    def monthly_amount(self) -> Decimal:
        """What a month costs on this plan (a yearly price spread over twelve)."""
        months = 12 if self.billing_period == self.Period.YEAR else 1
        return (self.amount / months).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class SubscriptionQuerySet(models.QuerySet):
    def live(self):
        return self.exclude(status=Subscription.Status.CANCELED)


class Subscription(models.Model):
    class Status(models.TextChoices):
        TRIALING = "trialing", "Trial"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        CANCELED = "canceled", "Cancelled"
        UNPAID = "unpaid", "Unpaid"
        INCOMPLETE = "incomplete", "Incomplete"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="subscriptions"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=12, choices=Status, default=Status.TRIALING)
    cancel_at_period_end = models.BooleanField(default=False)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    trial_start = models.DateTimeField(null=True, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    canceled_at = models.DateTimeField(null=True, blank=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One live subscription per organisation; cancelled ones stay as history.
            models.UniqueConstraint(
                fields=["tenant"],
                condition=~models.Q(status="canceled"),
                name="one_live_subscription_per_tenant",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    status__in=[
                        "trialing",
                        "active",
                        "past_due",
                        "canceled",
                        "unpaid",
                        "incomplete",
                    ]
                ),
                name="subscription_status_valid",
            ),
        ]

    def __str__(self):
        return f"{self.tenant} on {self.plan} ({self.status})"

    @classmethod
    def start_trial(cls, tenant, plan, now=None) -> "Subscription":
        now = now or timezone.now()
        return cls.objects.create(
            tenant=tenant,
            plan=plan,
            status=cls.Status.TRIALING,
            trial_start=now,
            trial_end=now + timedelta(days=TRIAL_DAYS),
            current_period_start=now,
            current_period_end=now + timedelta(days=TRIAL_DAYS),
        )

    @property
    def trial_days_left(self) -> int:
        if self.status != self.Status.TRIALING or self.trial_end is None:
            return 0
        return max(0, (self.trial_end - timezone.now()).days)


# --- Invoices ------------------------------------------------------------------------------------


class TaxCode(models.TextChoices):
    """IRAS tax codes for sales (TX is a purchase code and never appears on a sales invoice)."""

    SR = "SR", "SR: standard-rated supply"
    ZR = "ZR", "ZR: zero-rated supply"
    ES33 = "ES33", "ES33: regulation 33 exempt supply"
    ESN33 = "ESN33", "ESN33: exempt supply (non-regulation 33)"
    DS = "DS", "DS: deemed supply"
    OS = "OS", "OS: out-of-scope supply"


def tax_treatment(tenant) -> tuple[str, Decimal]:
    """The IRAS tax code and GST rate for what NexusCore sells to `tenant`.

    NexusCore is a GST-registered Singapore business selling a digital service. A supply to a
    customer belonging in Singapore is standard-rated (SR, 9 %), whether or not the customer is
    itself GST-registered. A service supplied to a customer belonging outside Singapore is an
    international service, zero-rated under section 21(3) of the GST Act (ZR, 0 %). Where the
    customer belongs is taken from its billing address (Singapore when none is given).
    """
    country = (tenant.billing_address or {}).get("country", "SG") or "SG"
    if country.upper() in {"SG", "SINGAPORE"}:
        return TaxCode.SR, GST_RATE
    return TaxCode.ZR, Decimal("0")


def _gst_cents():
    # numeric * numeric, rounded half away from zero by PostgreSQL's ROUND(numeric): half up for
    # the positive amounts of invoices, and symmetrically for credit notes.
    return models.Func(
        models.F("subtotal_cents") * models.F("gst_rate"),
        function="ROUND",
        output_field=models.DecimalField(max_digits=20, decimal_places=0),
    )


class InvoiceQuerySet(models.QuerySet):
    def for_tenant(self, tenant):
        return self.filter(tenant=tenant)


class Invoice(models.Model):
    """A tax invoice (or a credit note) NexusCore issues to an organisation, in SGD cents.

    GST and the total are computed by the database (generated columns), so every reader sees the
    same figures. Numbers are given when an invoice is finalised, from InvoiceSequence, in the
    same transaction: a rolled-back finalisation takes no number, so the series has no gaps.
    """

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Tax invoice"
        CREDIT_NOTE = "credit_note", "Credit note"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        VOID = "void", "Void"
        UNCOLLECTIBLE = "uncollectible", "Uncollectible"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="invoices")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.SET_NULL, null=True, blank=True, related_name="invoices"
    )
    kind = models.CharField(max_length=12, choices=Kind, default=Kind.INVOICE)
    credit_note_for = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    number = models.CharField(max_length=20, unique=True, null=True, blank=True)
    status = models.CharField(max_length=13, choices=Status, default=Status.DRAFT)
    currency = models.CharField(max_length=3, default="SGD")
    tax_code = models.CharField(max_length=5, choices=TaxCode, default=TaxCode.SR)
    subtotal_cents = models.BigIntegerField(help_text="Total before GST, in cents.")
    gst_rate = models.DecimalField(max_digits=5, decimal_places=4, default=GST_RATE)
    gst_amount_cents = models.GeneratedField(
        expression=models.functions.Cast(_gst_cents(), models.BigIntegerField()),
        output_field=models.BigIntegerField(),
        db_persist=True,
    )
    total_cents = models.GeneratedField(
        expression=models.F("subtotal_cents")
        + models.functions.Cast(_gst_cents(), models.BigIntegerField()),
        output_field=models.BigIntegerField(),
        db_persist=True,
    )
    amount_paid_cents = models.BigIntegerField(default=0)
    line_items = models.JSONField(
        default=list, blank=True, help_text='[{"description": ..., "amount_cents": ...}]'
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    stripe_invoice_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_payment_intent = models.CharField(max_length=255, blank=True, default="")
    pdf = models.FileField(upload_to="invoices/", blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="invoice_tenant_recent")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(tax_code__in=["SR", "ZR", "ES33", "ESN33", "DS", "OS"]),
                name="invoice_sales_tax_code",
                violation_error_message="Sales invoices use SR, ZR, ES33, ESN33, DS or OS.",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["draft", "open", "paid", "void", "uncollectible"]),
                name="invoice_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(gst_rate__gte=0) & models.Q(gst_rate__lt=1),
                name="invoice_gst_rate_range",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(number__isnull=False),
                name="invoice_number_once_issued",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="invoice", subtotal_cents__gte=0)
                | models.Q(kind="credit_note", subtotal_cents__lte=0),
                name="invoice_sign_matches_kind",
            ),
        ]

    def __str__(self):
        return self.number or f"Draft {self.get_kind_display().lower()}"

    def finalise(self, now=None) -> "Invoice":
        """Give the draft its number and issue it (status open)."""
        if self.status != self.Status.DRAFT:
            raise ValueError(f"{self} is already issued")
        prefix = "CN" if self.kind == self.Kind.CREDIT_NOTE else "INV"
        with transaction.atomic():
            value = InvoiceSequence.next_value(prefix)
            self.number = f"{prefix}-{value:06d}"
            self.status = self.Status.OPEN
            self.issued_at = now or timezone.now()
            self.save(update_fields=["number", "status", "issued_at", "updated_at"])
        return self


class InvoiceSequence(models.Model):
    """The last number used in each series (INV, CN); locked while a number is taken."""

    prefix = models.CharField(max_length=10, primary_key=True)
    last_value = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.prefix} at {self.last_value}"

    @classmethod
    def next_value(cls, prefix: str) -> int:
        """The next number of the series; call inside the transaction that uses it."""
        cls.objects.get_or_create(prefix=prefix)
        sequence = cls.objects.select_for_update().get(prefix=prefix)
        sequence.last_value += 1
        sequence.save(update_fields=["last_value"])
        return sequence.last_value


# --- Webhooks ------------------------------------------------------------------------------------


class WebhookEvent(models.Model):
    """An event a payment provider sent us, stored before it is processed.

    The provider's event id is unique, so a second delivery of the same event is recognised and
    changes nothing. Processing retries with exponential backoff until it succeeds or runs out of
    attempts; staff can replay a failed event from the admin.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (no handler)"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.CharField(max_length=20, default="stripe")
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["service", "event_id"], name="one_row_per_event"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="webhook_status_recent")]

    def __str__(self):
        return f"{self.service} {self.event_type} {self.event_id}"


# --- Idempotency ---------------------------------------------------------------------------------


class IdempotencyRecord(models.Model):
    """The first answer to a state-changing POST that carried an idempotency key.

    The same key with the same payload gets that answer again instead of running twice; the same
    key with another payload is refused (409). Records expire (`expires_at`) and a daily task
    deletes them (billing.tasks.delete_expired_idempotency_records).

    The table is in the public schema, shared by every organisation, while the keys come from
    clients, for the capture form from anyone on the internet. Keys are therefore stored scoped
    by the schema they were used in ("acme:<key>"): a key chosen on one organisation's host can
    neither replay another organisation's answer nor block its requests with a 409.
    See nexuscore/billing/idempotency.py for the helper views use.
    """

    class Status(models.TextChoices):
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=255, unique=True, help_text="<schema>:<client's key>")
    request_path = models.CharField(max_length=500)
    request_method = models.CharField(max_length=10)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of method, path, payload")
    status = models.CharField(max_length=10, choices=Status, default=Status.PROCESSING)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="")
    response_headers = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.request_method} {self.request_path} {self.key}"

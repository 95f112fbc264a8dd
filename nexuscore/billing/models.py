"""Plan (seed 6.2.4) and Subscription (ERD): what an organisation pays for, and its state."""

import uuid
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import models
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

    def limit(self, name: str) -> int | None:
        """The plan's limit called `name`; None means unlimited."""
        return self.limits.get(name)


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

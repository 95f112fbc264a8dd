"""Usage against plan limits: the metrics, UsageRecord, UsageEvent and the functions that use them.

A metric is a counter per period (leads created this month) or a gauge (members right now). Each
(tenant, metric, period) has one UsageRecord whose `usage` only ever changes through a single
conditional UPDATE, so concurrent requests can neither lose an increment nor pass a HARD limit.
Every change also appends an immutable UsageEvent.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone


class Enforcement(models.TextChoices):
    HARD = "hard", "Hard: refuse past the limit"
    SOFT = "soft", "Soft: allow and record the overage"
    NONE = "none", "None: only track"


@dataclass(frozen=True)
class Metric:
    code: str
    label: str
    limit_key: str  # the key in Plan.limits
    counter: bool  # True: counts per period; False: a gauge (the current number)
    enforcement: str  # the default; a plan may override it in limits["enforcement"]
    unit: str


METRICS = {
    metric.code: metric
    for metric in [
        Metric(
            "leads.created", "Leads created", "leads_per_month", True, Enforcement.HARD, "leads"
        ),
        Metric("members", "Team members", "members", False, Enforcement.HARD, "members"),
        Metric(
            "privacy.exports",
            "Privacy exports",
            "privacy_exports_per_month",
            True,
            Enforcement.HARD,
            "exports",
        ),
    ]
}

# A gauge has one record for all time.
GAUGE_START = datetime(2000, 1, 1, tzinfo=UTC)
GAUGE_END = datetime(9999, 12, 31, tzinfo=UTC)


class UnknownMetric(ValueError):
    pass


class QuotaExceeded(Exception):
    def __init__(self, metric: str, current: int, limit: int):
        self.metric, self.current, self.limit = metric, current, limit
        label = METRICS[metric].label.lower()
        super().__init__(f"Your plan allows {limit} {label}; {current} used so far.")


class UsageRecord(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=50)
    usage = models.BigIntegerField(default=0)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    overage_notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_end", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "metric", "period_start"], name="one_usage_record_per_period"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "metric", "period_end"], name="usage_tenant_metric_end"),
            models.Index(fields=["tenant", "period_end"], name="usage_tenant_end"),
        ]

    def __str__(self):
        return f"{self.tenant_id} {self.metric} {self.usage} ({self.period_start:%Y-%m-%d})"


class UsageEvent(models.Model):
    """One change of usage, never altered (a database trigger refuses UPDATE and DELETE)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No database constraint: events outlive the organisation, as audit events do.
    tenant = models.ForeignKey(
        "tenants.Tenant",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    metric = models.CharField(max_length=50)
    amount = models.BigIntegerField()
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["tenant", "metric", "created_at"], name="usage_event_tenant_metric"
            ),
        ]

    def __str__(self):
        return f"{self.tenant_id} {self.metric} {self.amount:+d}"


# --- Limits and periods ------------------------------------------------------------------------


def _metric(code: str) -> Metric:
    try:
        return METRICS[code]
    except KeyError:
        raise UnknownMetric(f"Unknown usage metric {code!r}; known: {', '.join(METRICS)}") from None


def _live_subscription(tenant):
    return tenant.subscriptions.live().select_related("plan").first()


def limit_and_enforcement(tenant, metric: Metric, subscription=None) -> tuple[int | None, str]:
    """The tenant's limit for `metric` (None: unlimited) and how it is enforced."""
    subscription = subscription or _live_subscription(tenant)
    if subscription is None:
        return None, Enforcement.NONE
    limits = subscription.plan.limits
    enforcement = limits.get("enforcement", {}).get(metric.code, metric.enforcement)
    return limits.get(metric.limit_key), enforcement


def current_period(
    tenant, metric: Metric, now=None, subscription=None
) -> tuple[datetime, datetime]:
    """The period a counter counts in now: the subscription's current period when it has one
    that contains `now`, otherwise the calendar month in the organisation's time zone. Periods
    roll over by themselves: a new period simply has no record yet."""
    if not metric.counter:
        return GAUGE_START, GAUGE_END
    now = now or timezone.now()
    subscription = subscription or _live_subscription(tenant)
    start, end = (
        (subscription.current_period_start, subscription.current_period_end)
        if subscription
        else (None, None)
    )
    if start and end and start <= now < end:
        return start, end
    local = now.astimezone(tenant.zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start.astimezone(UTC), end.astimezone(UTC)


# --- Recording and checking ----------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaCheck:
    metric: str
    allowed: bool
    used: int
    limit: int | None
    remaining: int | None
    enforcement: str


def _record_for(tenant, metric: Metric, now=None, subscription=None) -> UsageRecord:
    start, end = current_period(tenant, metric, now, subscription)
    record = UsageRecord.objects.filter(
        tenant=tenant, metric=metric.code, period_start=start
    ).first()
    if record is None:
        # Two requests may start a period at once: the unique constraint lets one row win.
        UsageRecord.objects.bulk_create(
            [UsageRecord(tenant=tenant, metric=metric.code, period_start=start, period_end=end)],
            ignore_conflicts=True,
        )
        record = UsageRecord.objects.get(tenant=tenant, metric=metric.code, period_start=start)
    return record


def check_quota(tenant, metric: str, amount: int = 1, now=None) -> QuotaCheck:
    """Would recording `amount` more of `metric` be allowed? Changes nothing."""
    spec = _metric(metric)
    subscription = _live_subscription(tenant)
    limit, enforcement = limit_and_enforcement(tenant, spec, subscription)
    start, _ = current_period(tenant, spec, now, subscription)
    used = (
        UsageRecord.objects.filter(tenant=tenant, metric=metric, period_start=start)
        .values_list("usage", flat=True)
        .first()
    ) or 0
    remaining = None if limit is None else max(0, limit - used)
    allowed = limit is None or enforcement != Enforcement.HARD or used + amount <= limit
    return QuotaCheck(metric, allowed, used, limit, remaining, enforcement)


def record_usage(tenant, metric: str, amount: int = 1, metadata=None, now=None) -> int:
    """Add `amount` (negative for a gauge going down) to the tenant's usage of `metric` and
    return the new total. Raises QuotaExceeded, changing nothing, when a HARD limit would be
    passed. Atomic and race-free: one conditional UPDATE decides.
    """
    spec = _metric(metric)
    subscription = _live_subscription(tenant)
    limit, enforcement = limit_and_enforcement(tenant, spec, subscription)
    with transaction.atomic():
        record = _record_for(tenant, spec, now, subscription)
        rows = UsageRecord.objects.filter(pk=record.pk)
        if enforcement == Enforcement.HARD and limit is not None and amount > 0:
            rows = rows.filter(usage__lte=limit - amount)
        if not rows.update(usage=F("usage") + amount, updated_at=timezone.now()):
            current = UsageRecord.objects.values_list("usage", flat=True).get(pk=record.pk)
            raise QuotaExceeded(metric, current, limit)
        total = UsageRecord.objects.values_list("usage", flat=True).get(pk=record.pk)
        over = limit is not None and total > limit
        event_metadata = {**(metadata or {}), **({"overage": total - limit} if over else {})}
        UsageEvent.objects.create(
            tenant=tenant, metric=metric, amount=amount, metadata=event_metadata
        )
        if over and enforcement == Enforcement.SOFT:
            _tell_owner_once(tenant, record, spec, total, limit)
    return total


def _tell_owner_once(tenant, record, metric: Metric, total: int, limit: int) -> None:
    """Email the owner the first time in a period that a SOFT limit is passed."""
    first = UsageRecord.objects.filter(pk=record.pk, overage_notified_at__isnull=True).update(
        overage_notified_at=timezone.now()
    )
    if first and tenant.owner_id:
        from nexuscore.quotas.mail import send_overage_notice

        # Queued in this transaction (the outbox sends it after the commit).
        send_overage_notice(tenant, metric, total, limit, usage_record_id=record.pk)


def set_gauge(tenant, metric: str, value: int, metadata=None) -> None:
    """Set a gauge to the number actually held (members after an import, say); never refused."""
    spec = _metric(metric)
    if spec.counter:
        raise UnknownMetric(f"{metric} is a counter, not a gauge")
    with transaction.atomic():
        record = _record_for(tenant, spec)
        record = UsageRecord.objects.select_for_update().get(pk=record.pk)
        if record.usage != value:
            UsageEvent.objects.create(
                tenant=tenant,
                metric=metric,
                amount=value - record.usage,
                metadata=metadata or {"set": value},
            )
            UsageRecord.objects.filter(pk=record.pk).update(usage=value, updated_at=timezone.now())


# --- Reading for pages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageLine:
    metric: Metric
    used: int
    limit: int | None
    enforcement: str
    period_start: datetime
    period_end: datetime

    @property
    def percent(self) -> int:
        if not self.limit:
            return 0
        return min(100, round(100 * self.used / self.limit))

    @property
    def level(self) -> str:
        """ "ok", "near" (80 % or more), or "over" (at or past the limit)."""
        if self.limit is None:
            return "ok"
        if self.used >= self.limit:
            return "over"
        return "near" if self.percent >= 80 else "ok"


def usage_summary(tenant, now=None) -> list[UsageLine]:
    """One line per metric for the organisation's current periods (two queries)."""
    subscription = _live_subscription(tenant)
    periods = {
        code: current_period(tenant, spec, now, subscription) for code, spec in METRICS.items()
    }
    records = {
        (record.metric, record.period_start): record.usage
        for record in UsageRecord.objects.filter(
            tenant=tenant, period_start__in={start for start, _ in periods.values()}
        )
    }
    lines = []
    for code, spec in METRICS.items():
        start, end = periods[code]
        limit, enforcement = limit_and_enforcement(tenant, spec, subscription)
        used = records.get((code, start), 0)
        lines.append(UsageLine(spec, used, limit, enforcement, start, end))
    return lines


def usage_history(tenant, metric: str, periods: int = 6) -> list[UsageRecord]:
    """The last `periods` records of a counter, oldest first (periods with no use are absent)."""
    _metric(metric)
    records = UsageRecord.objects.filter(tenant=tenant, metric=metric).order_by("-period_start")
    return list(reversed(records[:periods]))

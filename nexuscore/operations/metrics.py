"""The gauges /metrics computes when it is scraped, one query each (figures.py); the counters
every process keeps are in nexuscore/lib/metrics.py."""

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from nexuscore.operations import figures


class ServiceCollector:
    """A prometheus-client collector over the database's figures."""

    def collect(self):
        now = timezone.now()
        queue = figures.queue(now)
        yield GaugeMetricFamily(
            "nexuscore_queue_length", "Tasks in the queue, waiting or taken.", value=queue.length
        )
        yield GaugeMetricFamily(
            "nexuscore_queue_oldest_task_age_seconds",
            "How long the oldest task waiting in the queue has waited (0 when none waits).",
            value=queue.oldest_age_seconds,
        )
        yield GaugeMetricFamily(
            "nexuscore_tasks_failed",
            "Failed tasks kept by django-q2 (staff admin: operations page).",
            value=figures.failed_tasks(),
        )
        stripe = GaugeMetricFamily(
            "nexuscore_stripe_events",
            "Stripe events still to be processed (pending) or failed for good (failed).",
            labels=["status"],
        )
        for status, count in figures.stripe_events().items():
            stripe.add_metric([status], count)
        yield stripe
        yield GaugeMetricFamily(
            "nexuscore_schema_pool_size",
            "Pre-migrated schemas waiting for new organisations.",
            value=figures.schema_pool_size(),
        )
        organisations = GaugeMetricFamily(
            "nexuscore_organisations", "Organisations by status.", labels=["status"]
        )
        for status, count in figures.organisations_by_status().items():
            organisations.add_metric([status], count)
        yield organisations
        beat_at = figures.last_heartbeat()
        if beat_at is not None:  # no series before the first beat: absent() alerts on it
            yield GaugeMetricFamily(
                "nexuscore_worker_heartbeat_age_seconds",
                "Seconds since the worker's last heartbeat.",
                value=(now - beat_at).total_seconds(),
            )

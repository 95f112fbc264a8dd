"""The worker heartbeat: a scheduled task writes it, /health/ reads its age, and staff are told
once when it stops and once when it beats again (nexuscore/health/alerts.py)."""

from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone


def _max_age() -> timedelta:
    return timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS)


class Heartbeat(models.Model):
    name = models.CharField(max_length=50, primary_key=True)
    beat_at = models.DateTimeField()
    # When staff were told that it stopped; the next beat clears it. One row for the whole
    # cluster, so every web process agrees whether this outage was reported.
    outage_reported_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} at {self.beat_at:%H:%M:%S}"

    @classmethod
    def beat(cls, name="worker"):
        """Record a beat. Returns when staff were told this heartbeat had stopped, if they were
        (the outage this beat ends), else None."""
        with transaction.atomic():
            heartbeat = cls.objects.select_for_update().filter(name=name).first() or cls(name=name)
            reported_at = heartbeat.outage_reported_at
            heartbeat.beat_at, heartbeat.outage_reported_at = timezone.now(), None
            heartbeat.save()
        return reported_at

    def is_late(self, now=None) -> bool:
        """Older than settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS: nothing is taking tasks."""
        return (now or timezone.now()) - self.beat_at > _max_age()

    def mark_outage_reported(self, now) -> bool:
        """Record that staff are being told it stopped: True for the one caller, of all web
        processes, that should tell them; False if it beat meanwhile or another caller did."""
        late = type(self).objects.filter(beat_at__lt=now - _max_age())
        marked = late.filter(pk=self.pk, outage_reported_at__isnull=True).update(
            outage_reported_at=now
        )
        if marked:
            self.outage_reported_at = now
        return bool(marked)

    def forget_outage_report(self, reported_at) -> None:
        """Telling staff failed: let the next check try again."""
        type(self).objects.filter(pk=self.pk, outage_reported_at=reported_at).update(
            outage_reported_at=None
        )
        self.outage_reported_at = None

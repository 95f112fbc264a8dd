"""The worker heartbeat: a scheduled task writes it, /health/ reads its age."""

from django.db import models
from django.utils import timezone


class Heartbeat(models.Model):
    name = models.CharField(max_length=50, primary_key=True)
    beat_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} at {self.beat_at:%H:%M:%S}"

    @classmethod
    def beat(cls, name="worker"):
        cls.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})

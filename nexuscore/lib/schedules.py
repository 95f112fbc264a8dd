"""Recurring tasks: declared beside the tasks they run, written to django-q2 after every migrate.

An app's `tasks` module lists what it runs and when:

    SCHEDULES = [
        Recurring("worker heartbeat", "nexuscore.health.tasks.worker_heartbeat", minutes=1),
        Recurring("privacy retention", "nexuscore.privacy.tasks.apply_retention", daily_at=3),
    ]

`sync_schedules()` makes django-q2's Schedule table say exactly that: a declared schedule is
created or updated by its name, and a recurring row that no app declares any more is deleted.
One-off schedules (a webhook's next retry) are left alone. The health app runs it after every
`migrate` of the public schema, so a release, `make run` and the test database all get it.
"""

import importlib
import importlib.util
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.apps import apps
from django.conf import settings


@dataclass(frozen=True)
class Recurring:
    """Run `func` (a dotted path) every `minutes`, every hour, or daily at the hour `daily_at`
    in settings.TIME_ZONE (Singapore). Exactly one of the three."""

    name: str
    func: str
    minutes: int | None = None
    hourly: bool = False
    daily_at: int | None = None

    def __post_init__(self):
        given = [self.minutes is not None, self.hourly, self.daily_at is not None]
        if sum(given) != 1:
            raise ValueError(f"{self.name}: say minutes=, hourly=True or daily_at=, once")

    def fields(self, now: datetime) -> dict:
        """The Schedule row's fields, with the next run from `now`."""
        if self.minutes is not None:
            return {"schedule_type": "I", "minutes": self.minutes, "next_run": now}
        if self.hourly:
            return {"schedule_type": "H", "minutes": None, "next_run": now}
        zone = ZoneInfo(settings.TIME_ZONE)
        local = now.astimezone(zone)
        next_run = datetime.combine(local.date(), time(self.daily_at), tzinfo=zone)
        if next_run <= local:
            next_run += timedelta(days=1)
        return {"schedule_type": "D", "minutes": None, "next_run": next_run.astimezone(UTC)}


def _local_hour(moment: datetime | None) -> int | None:
    return None if moment is None else moment.astimezone(ZoneInfo(settings.TIME_ZONE)).hour


def declared_schedules() -> list[Recurring]:
    """Every installed app's `tasks.SCHEDULES`."""
    declared = []
    for app in apps.get_app_configs():
        module_name = f"{app.name}.tasks"
        if importlib.util.find_spec(module_name) is None:
            continue
        declared += getattr(importlib.import_module(module_name), "SCHEDULES", [])
    return declared


def sync_schedules(now: datetime | None = None) -> None:
    """Write the declared schedules to django-q2 (see the module's docstring). A schedule whose
    kind and timing are unchanged keeps its next run, so a release does not delay it."""
    from django_q.models import Schedule

    now = now or datetime.now(UTC)
    declared = declared_schedules()
    for recurring in declared:
        fields = recurring.fields(now)
        row = Schedule.objects.filter(name=recurring.name).first()
        if row is None:
            Schedule.objects.create(name=recurring.name, func=recurring.func, repeats=-1, **fields)
            continue
        unchanged = (
            row.schedule_type == fields["schedule_type"]
            and row.minutes == fields["minutes"]
            and (recurring.daily_at is None or _local_hour(row.next_run) == recurring.daily_at)
        )
        row.func, row.repeats = recurring.func, -1
        if not unchanged:
            row.schedule_type, row.minutes = fields["schedule_type"], fields["minutes"]
            row.next_run = fields["next_run"]
        row.save()
    names = [recurring.name for recurring in declared]
    Schedule.objects.filter(repeats=-1).exclude(name__in=names).delete()

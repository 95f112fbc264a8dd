"""Recurring tasks are declared beside the tasks they run and written to django-q2 after every
migrate: what the code declares is what runs."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils.module_loading import import_string
from django_q.models import Schedule

from nexuscore.lib.schedules import Recurring, declared_schedules, sync_schedules

SINGAPORE = ZoneInfo("Asia/Singapore")


def recurring_rows() -> dict[str, str]:
    return dict(Schedule.objects.filter(repeats=-1).values_list("name", "func"))


def test_the_database_runs_exactly_what_the_code_declares(db):
    declared = {recurring.name: recurring.func for recurring in declared_schedules()}
    assert recurring_rows() == declared
    assert {
        "worker heartbeat",
        "fill schema pool",
        "trial reminders",
        "follow-up digests",
        "privacy deadline reminders",
        "outbox: send unsent mail",
        "webhooks: pick up stale events",
    } <= set(declared)


def test_every_scheduled_function_exists(db):
    for recurring in declared_schedules():
        assert callable(import_string(recurring.func)), recurring.name


def test_daily_schedules_run_at_their_hour_in_singapore(db):
    digests = Schedule.objects.get(name="follow-up digests")
    assert digests.schedule_type == Schedule.DAILY
    assert digests.next_run.astimezone(SINGAPORE).hour == 9
    assert Schedule.objects.get(name="privacy retention").next_run.astimezone(SINGAPORE).hour == 3


def test_a_schedule_no_longer_declared_goes_and_one_off_retries_stay(db):
    Schedule.objects.create(name="an old job", func="os.getcwd", schedule_type="I", minutes=5,
                            repeats=-1)  # fmt: skip
    Schedule.objects.create(name="retry webhook 7", func="os.getcwd", schedule_type="O", repeats=1)
    sync_schedules()
    assert not Schedule.objects.filter(name="an old job").exists()
    assert Schedule.objects.filter(name="retry webhook 7").exists()


def test_a_release_keeps_a_schedules_next_run_when_its_timing_is_unchanged(db):
    heartbeat = Schedule.objects.get(name="worker heartbeat")
    soon = datetime(2030, 1, 1, tzinfo=UTC)
    Schedule.objects.filter(pk=heartbeat.pk).update(next_run=soon)
    sync_schedules()
    assert Schedule.objects.get(pk=heartbeat.pk).next_run == soon


def test_a_changed_timing_is_written(db):
    Schedule.objects.filter(name="fill schema pool").update(minutes=60)
    sync_schedules()
    assert Schedule.objects.get(name="fill schema pool").minutes == 10


@pytest.mark.parametrize("timing", [{}, {"minutes": 5, "hourly": True}])
def test_a_schedule_names_exactly_one_timing(timing):
    with pytest.raises(ValueError, match="once"):
        Recurring("x", "os.getcwd", **timing)

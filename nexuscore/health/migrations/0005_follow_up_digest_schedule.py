"""The daily follow-up digests as a django-q2 schedule, at 09:00 Singapore time."""

from datetime import UTC, datetime, time, timedelta

from django.db import migrations

NAME = "follow-up digests"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    now = datetime.now(UTC)
    next_run = datetime.combine(now.date(), time(1, 0), tzinfo=UTC)  # 01:00 UTC is 09:00 SGT
    if next_run <= now:
        next_run += timedelta(days=1)
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={
            "func": "nexuscore.leads.tasks.send_follow_up_digests",
            "schedule_type": "D",
            "repeats": -1,
            "next_run": next_run,
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("health", "0004_trial_reminders_schedule")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]

"""The daily trial reminders as a django-q2 schedule, at 09:00 Singapore time."""

from datetime import UTC, datetime, time, timedelta

from django.db import migrations

NAME = "trial reminders"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    now = datetime.now(UTC)
    next_run = datetime.combine(now.date(), time(1, 0), tzinfo=UTC)  # 01:00 UTC is 09:00 SGT
    if next_run <= now:
        next_run += timedelta(days=1)
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={
            "func": "nexuscore.onboarding.tasks.send_trial_reminders",
            "schedule_type": "D",
            "repeats": -1,
            "next_run": next_run,
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("health", "0003_cache_table")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]

"""The daily privacy schedules (django-q2): deadline reminders at 09:00 and the retention rule
at 03:00, Singapore time.

The privacy app is in every schema, but the schedules belong to the one queue in public, so
this only acts when it runs in the public schema.
"""

from datetime import UTC, datetime, time, timedelta

from django.db import migrations

SCHEDULES = {
    # name: (function, hour in UTC)
    "privacy deadline reminders": ("nexuscore.privacy.tasks.send_deadline_reminders", 1),
    "privacy retention": ("nexuscore.privacy.tasks.apply_retention", 19),
}


def create_schedules(apps, schema_editor):
    if schema_editor.connection.schema_name != "public":
        return
    Schedule = apps.get_model("django_q", "Schedule")
    now = datetime.now(UTC)
    for name, (func, hour) in SCHEDULES.items():
        next_run = datetime.combine(now.date(), time(hour, 0), tzinfo=UTC)
        if next_run <= now:
            next_run += timedelta(days=1)
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": "D", "repeats": -1, "next_run": next_run},
        )


def remove_schedules(apps, schema_editor):
    if schema_editor.connection.schema_name != "public":
        return
    apps.get_model("django_q", "Schedule").objects.filter(name__in=SCHEDULES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]

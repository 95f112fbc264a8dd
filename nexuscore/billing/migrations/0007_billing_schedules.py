"""Billing's recurring tasks as django-q2 schedules: expired idempotency records are deleted
daily; organisations whose grace period after a failed payment has run out are checked hourly
(the read-only state itself needs no task, this records it and tells the owner)."""

from datetime import UTC, datetime, timedelta

from django.db import migrations

SCHEDULES = {
    "delete expired idempotency records": (
        "nexuscore.billing.tasks.delete_expired_idempotency_records",
        "D",
    ),
    "dunning: grace periods ended": ("nexuscore.billing.tasks.enforce_grace_periods", "H"),
}


def create_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    next_run = datetime.now(UTC) + timedelta(minutes=5)
    for name, (func, schedule_type) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": schedule_type,
                "repeats": -1,
                "next_run": next_run,
            },
        )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=SCHEDULES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0006_idempotency_records"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]

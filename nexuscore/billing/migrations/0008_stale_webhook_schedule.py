"""Every 10 minutes, Stripe events left pending by a lost task are queued again
(nexuscore.billing.webhooks.pick_up_stale_events)."""

from datetime import UTC, datetime, timedelta

from django.db import migrations

NAME = "webhooks: pick up stale events"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={
            "func": "nexuscore.billing.tasks.pick_up_stale_webhook_events",
            "schedule_type": "I",
            "minutes": 10,
            "repeats": -1,
            "next_run": datetime.now(UTC) + timedelta(minutes=10),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0007_billing_schedules")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]

"""When staff were told the worker stopped (nexuscore/health/alerts.py)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("health", "0005_follow_up_digest_schedule")]

    operations = [
        migrations.AddField(
            model_name="heartbeat",
            name="outage_reported_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]

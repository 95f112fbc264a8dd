"""Once created django-q2 schedules; they are declared in the apps' tasks modules now and
written after every migrate (nexuscore/lib/schedules.py). Kept, empty, for the history."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("health", "0003_cache_table")]

    operations = []

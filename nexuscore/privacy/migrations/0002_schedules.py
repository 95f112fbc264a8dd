"""Once created django-q2 schedules; they are declared in the apps' tasks modules now and
written after every migrate (nexuscore/lib/schedules.py). Kept, empty, for the history."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = []

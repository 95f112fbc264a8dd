"""The database cache's table (settings.CACHES), made with migrations so no deploy forgets it."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("health", "0002_schedules")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]

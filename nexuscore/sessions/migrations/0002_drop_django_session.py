"""django.contrib.sessions' table is no longer used (nexuscore_session replaced it). Its
sessions end: everyone signs in once more after this release."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("nexuscore_sessions", "0001_initial")]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS django_session", migrations.RunSQL.noop),
    ]

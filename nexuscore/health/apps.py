from django.apps import AppConfig
from django.db.models.signals import post_migrate


class HealthConfig(AppConfig):
    name = "nexuscore.health"
    label = "health"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_sync_schedules, sender=self)


def _sync_schedules(sender, **kwargs):
    """After every migrate of the public schema (a release, `make run`, the test database),
    django-q2's schedules become what the apps' tasks modules declare (nexuscore.lib.schedules).
    Migrating an organisation's schema leaves them alone: they live in public."""
    from django.db import connection
    from django_tenants.utils import get_public_schema_name

    from nexuscore.lib.schedules import sync_schedules

    if connection.schema_name == get_public_schema_name():
        sync_schedules()

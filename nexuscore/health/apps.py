from django.apps import AppConfig
from django.db.models.signals import post_migrate


class HealthConfig(AppConfig):
    name = "nexuscore.health"
    label = "health"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # django-q2's signals module loads its models, so it is imported once apps are ready.
        from django_q.signals import post_execute

        from nexuscore.lib.metrics import count_task

        post_migrate.connect(_sync_schedules, sender=self)
        # Task runs and failures for /metrics, counted in the cluster's monitor process.
        post_execute.connect(count_task, dispatch_uid="nexuscore.lib.metrics.count_task")


def _sync_schedules(sender, **kwargs):
    """After every migrate of the public schema (a release, `make run`, the test database),
    django-q2's schedules become what the apps' tasks modules declare (nexuscore.lib.schedules).
    Migrating an organisation's schema leaves them alone: they live in public."""
    from django.db import connection
    from django_tenants.utils import get_public_schema_name

    from nexuscore.lib.schedules import sync_schedules

    if connection.schema_name == get_public_schema_name():
        sync_schedules()

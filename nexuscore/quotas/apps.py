from django.apps import AppConfig


class QuotasConfig(AppConfig):
    name = "nexuscore.quotas"
    label = "quotas"
    verbose_name = "Quotas and usage"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from nexuscore.quotas import signals  # noqa: F401  (the members gauge follows memberships)

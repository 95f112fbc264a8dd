from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "nexuscore.billing"
    label = "billing"
    verbose_name = "Billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from nexuscore.billing import signals  # noqa: F401  (registers the receivers)

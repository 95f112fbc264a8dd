from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "nexuscore.accounts"
    label = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Changes to passwords, email addresses and authenticators become audit events.
        from nexuscore.accounts import signals

        signals.connect()

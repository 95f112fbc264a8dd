from django.apps import AppConfig


class SessionsConfig(AppConfig):
    name = "nexuscore.sessions"
    # Not "sessions": django.contrib.sessions used that label, and its migration history
    # (sessions.0001_initial) stays in every schema's django_migrations.
    label = "nexuscore_sessions"
    verbose_name = "Sessions"
    default_auto_field = "django.db.models.BigAutoField"

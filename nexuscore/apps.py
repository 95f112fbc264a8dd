"""Project-level app configuration."""

from django.contrib.staticfiles.apps import StaticFilesConfig as DjangoStaticFilesConfig


class StaticFilesConfig(DjangoStaticFilesConfig):
    # static/src holds the Tailwind input, not something to serve; its `@import "tailwindcss"`
    # would also break the manifest storage.
    ignore_patterns = [*DjangoStaticFilesConfig.ignore_patterns, "src"]

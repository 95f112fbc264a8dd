"""manage.py fill_schema_pool: migrate spare schemas so new organisations start instantly."""

from django.core.management.base import BaseCommand

from tenants.schemas import fill_schema_pool


class Command(BaseCommand):
    help = "Drop stale pooled schemas and migrate new ones until the pool is full."

    def add_arguments(self, parser):
        parser.add_argument("--size", type=int, default=None, help="Default: SCHEMA_POOL_SIZE.")

    def handle(self, *args, size=None, **options):
        added = fill_schema_pool(size)
        self.stdout.write(f"Schema pool: {added} schema(s) added.")

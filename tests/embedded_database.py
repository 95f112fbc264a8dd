"""A pytest plugin (pyproject's addopts: -p tests.embedded_database), loaded before Django reads
its settings: without DATABASE_URL the tests use the embedded PostgreSQL under .data/ and build
their own database on it (settings read only DATABASE_URL)."""

from nexuscore.embedded_postgres import use_embedded_postgres

use_embedded_postgres()

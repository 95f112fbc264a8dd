"""A database of its own for the scale tests, driven by management commands in child processes.

The deploy commands open connections in worker processes and commit schema by schema, which a
test's rolled-back transaction cannot hold. So these tests create `<test database>_<suffix>`
beside the test database, run `manage.py ...` against it as a deploy would, read it with plain
SQL, and drop it at the end.
"""

import os
import subprocess
import sys

import psycopg
from psycopg import sql

from bench import database
from bench.__main__ import bench_environment


class ScratchDatabase:
    def __init__(self, suffix: str):
        self.name = f"{os.environ.get('NEXUSCORE_TEST_DATABASE', 'test_nexuscore')}_{suffix}"
        self.server = database.server_url()
        self.url = database.with_database(self.server, self.name)
        self.env = {**bench_environment(self.url), "NEXUSCORE_SCHEMA_POOL_SIZE": "2"}

    def _server_execute(self, statement):
        with psycopg.connect(self.server, autocommit=True) as connection:
            connection.execute(statement)

    def create(self) -> "ScratchDatabase":
        self.drop()
        self._server_execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        return self

    def drop(self) -> None:
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        self._server_execute(statement.format(sql.Identifier(self.name)))

    def manage(self, *arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
        """Run `manage.py <arguments>` on this database (`env` adds to its environment)."""
        return subprocess.run(
            [sys.executable, "manage.py", *arguments],
            env={**self.env, **(env or {})},
            cwd=database.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def query(self, statement: str, params=None) -> list[tuple]:
        with psycopg.connect(self.url, autocommit=True) as connection:
            return connection.execute(statement, params).fetchall()

    def execute(self, statement: str, params=None) -> None:
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(statement, params)


def output_of(result: subprocess.CompletedProcess) -> str:
    return f"exit status {result.returncode}\n{result.stdout}\n{result.stderr}"

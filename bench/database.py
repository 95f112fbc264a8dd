"""The bench's own database, `nexuscore_bench`, beside the developer's (never in it).

It lives on the server DATABASE_URL names or, without it, on the embedded PostgreSQL under
.data/postgres (this process then holds the server open until it exits). It is dropped and
created afresh for every run, and dropped again at the end.
"""

import os
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from nexuscore.embedded_postgres import use_embedded_postgres

BENCH_DATABASE = "nexuscore_bench"
BASE_DIR = Path(__file__).resolve().parent.parent


def server_url() -> str:
    """A URL for the project's own database; the bench connects there to create its own."""
    use_embedded_postgres()
    return os.environ["DATABASE_URL"]


def with_database(url: str, name: str) -> str:
    """The same server and credentials, another database."""
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _execute(url: str, statement: sql.Composable) -> None:
    if database_name(url) == BENCH_DATABASE:
        raise SystemExit(f"bench: DATABASE_URL already names {BENCH_DATABASE}; point it elsewhere")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(statement)


def drop_bench_database(url: str) -> None:
    # FORCE: a server the bench started and lost track of must not keep the database alive.
    statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    _execute(url, statement.format(sql.Identifier(BENCH_DATABASE)))


def create_bench_database(url: str) -> str:
    """Drop and create the bench database on `url`'s server; return a URL for it."""
    drop_bench_database(url)
    _execute(url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DATABASE)))
    return with_database(url, BENCH_DATABASE)


def exists(url: str, name: str) -> bool:
    with psycopg.connect(url, autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return found.fetchone() is not None


@contextmanager
def scratch_database(name: str, *, keep: bool = False):
    """A database `name` beside the developer's, made afresh (or, with `keep`, reused when it is
    there already); yields (its URL, whether it was made now). Dropped at the end whatever
    happens, unless `keep`."""
    server = server_url()
    statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    made = not (keep and exists(server, name))
    if made:
        _execute(server, statement)
        _execute(server, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(server, name), made
    finally:
        if not keep:
            _execute(server, statement)

"""The embedded PostgreSQL used when no DATABASE_URL is set.

pgserver runs PostgreSQL from its wheel with the data in `.data/postgres`. Every process that
needs the database (web server, worker, tests, management commands) calls `database_url()`: the
first one starts the server, later ones attach to it, and the server stops when the last of them
exits (pgserver counts the handles).
"""

import os
from pathlib import Path

DATABASE_NAME = "nexuscore"

_server = None


def database_url(data_dir: Path) -> str:
    """Start (or attach to) the embedded server and return a URL for the project database."""
    global _server
    if _server is None:
        import warnings

        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); pgserver copes.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        try:
            import pgserver
        except ImportError as error:
            raise RuntimeError(
                "No DATABASE_URL is set and the embedded PostgreSQL (pgserver) is not installed; "
                "it needs Python 3.12. Set DATABASE_URL or use Python 3.12."
            ) from error

        data_dir.mkdir(parents=True, exist_ok=True)
        # "stop": the server stops when the last process using it exits.
        cleanup = None if os.environ.get("NEXUSCORE_KEEP_DB") else "stop"
        _server = pgserver.get_server(data_dir, cleanup_mode=cleanup)
        exists = _server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "(1 row)" not in exists:
            _server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return _server.get_uri(DATABASE_NAME)

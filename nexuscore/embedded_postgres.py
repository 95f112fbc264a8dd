"""Development only: the embedded PostgreSQL, for when no DATABASE_URL is set.

pgserver (requirements-dev.txt; the production image has neither it nor this file) runs
PostgreSQL from its wheel with the data in `.data/postgres`. manage.py, the tests
(tests/embedded_database.py) and the bench call `use_embedded_postgres()` before Django reads its
settings: the first process starts the server, later ones attach to it, each sets DATABASE_URL
for itself and its children, and the server stops when the last of them exits (pgserver counts
the handles). Settings read only DATABASE_URL.
"""

import json
import os
import signal
import sys
import threading
import warnings
from pathlib import Path

DATABASE_NAME = "nexuscore"

_server = None


def use_embedded_postgres() -> None:
    """Set DATABASE_URL to the embedded server under NEXUSCORE_DATA_DIR (default .data/), unless
    a database is named already or this is production."""
    if os.environ.get("DATABASE_URL") or os.environ.get("NEXUSCORE_ENV") == "production":
        return
    data_dir = Path(
        os.environ.get("NEXUSCORE_DATA_DIR", Path(__file__).resolve().parent.parent / ".data")
    )
    os.environ["DATABASE_URL"] = database_url(data_dir / "postgres")


def database_url(data_dir: Path) -> str:
    """Start (or attach to) the embedded server and return a URL for the project database."""
    global _server
    if _server is None:
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); pgserver copes.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        try:
            import pgserver
        except ImportError as error:
            raise RuntimeError(
                "No DATABASE_URL is set and the embedded PostgreSQL (pgserver, in "
                "requirements-dev.txt) is not installed; it needs Python 3.12. Set DATABASE_URL, "
                "or install requirements-dev.txt on Python 3.12 (make does)."
            ) from error

        data_dir.mkdir(parents=True, exist_ok=True)
        _forget_dead_processes(data_dir, pgserver.postgres_server.PostgresServer._lock)
        # "stop": the server stops when the last process using it exits.
        cleanup = None if os.environ.get("NEXUSCORE_KEEP_DB") else "stop"
        _server = pgserver.get_server(data_dir, cleanup_mode=cleanup)
        _exit_cleanly_on_sigterm()
        exists = _server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "(1 row)" not in exists:
            _server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return _server.get_uri(DATABASE_NAME)


def _exit_cleanly_on_sigterm():
    """Let SIGTERM run the exit handlers, so the last process out stops the server.

    Only where nothing else handles SIGTERM (gunicorn and qcluster install their own).
    """
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def _forget_dead_processes(data_dir: Path, lock) -> None:
    """pgserver counts the processes using the server in .handle_pids.json, and a process that
    was killed never takes itself off; the server would then outlive everyone. Drop the dead."""
    import psutil  # installed with pgserver

    path = data_dir / ".handle_pids.json"
    with lock:
        if path.exists():
            pids = json.loads(path.read_text())
            alive = [pid for pid in pids if psutil.pid_exists(pid)]
            if alive != pids:
                path.write_text(json.dumps(alive))

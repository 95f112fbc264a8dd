"""Tasks that outlive a database restart. (Running a task in an organisation's schema and time
zone is tenants.tasks.)

A task whose database connection is lost while it runs (the server restarted, a failover, the
backend terminated) would fail, and django-q2 acknowledges failures (`ack_failures`), so it
would never run again. `survives_reconnect` runs it again from the start on a new connection
instead: whatever its interrupted transaction held was rolled back by the server, and the task
is safe to run twice.
"""

import functools
import logging
import time

import psycopg
from django.db import DatabaseError, connection
from django.db.transaction import TransactionManagementError

from nexuscore.lib.logs import set_attempt

log = logging.getLogger(__name__)

# Seconds to wait before each new attempt: about half a minute in all, well inside the
# cluster's timeout (120 s), for a restarting server to accept connections again.
RECONNECT_DELAYS = (0.5, 1, 2, 4, 8, 15)


def connection_lost(error: BaseException) -> bool:
    """Whether `error` came from losing the connection (not from the data or the code)."""
    if connection.in_atomic_block:
        return False  # the caller's transaction (a test's) is lost with it: theirs to handle
    cause, depth = error, 0
    while cause is not None and depth < 10:
        # No SQLSTATE: the connection itself failed; 08: connection exception; 57P0x: the
        # server shut down, crashed, is starting, or ended this backend.
        if isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError):
            sqlstate = cause.sqlstate or ""
            if not sqlstate or sqlstate.startswith(("08", "57P")):
                return True
        cause, depth = cause.__cause__ or cause.__context__, depth + 1
    if not isinstance(error, DatabaseError | TransactionManagementError):
        return False
    # Django drops a connection whose rollback failed; one still open must answer a ping.
    return connection.connection is None or not connection.is_usable()


def survives_reconnect(func):
    """Run `func` again from the start, on a new connection, when the database connection is
    lost while it runs. For tasks only: they are safe to run twice."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for attempt, delay in enumerate((*RECONNECT_DELAYS, None), start=1):
            set_attempt(attempt)  # in the task's log lines and error reports
            try:
                return func(*args, **kwargs)
            except Exception as error:
                if delay is None or not connection_lost(error):
                    raise
                log.warning("%s lost the database (%r); again in %s s", func, error, delay)
                connection.close()
                time.sleep(delay)
        return None  # not reached

    return wrapper

"""django-tenants' PostgreSQL backend, with one round trip less per request.

django-tenants forgets which search_path a connection has whenever the schema is chosen again,
and every request chooses twice (public to find the host, then the organisation's), so every
request sent `SET search_path` again, even on a persistent connection that already had that very
path (`TENANT_LIMIT_SET_CALLS` only spares a request's second and later cursors). Here the
connection remembers the path it last set for real, and a choice of that same path sends
nothing. Whatever can undo a SET (closing the connection, a rollback, a rollback to a savepoint)
makes it forget, so the next cursor sends the SET again, as django-tenants arranges.

It also spares the connection health check's `SELECT 1` (CONN_HEALTH_CHECKS) on a connection that
was used moments ago: a request then trusts a persistent connection that served a query less than
HEALTH_CHECK_IDLE_SECONDS ago, raised no error since, and that psycopg still sees open. One idle
for longer is checked as Django checks it. PgBouncer makes the same bargain (`server_check_delay`,
30 s by default); docs/decisions.md (13) says what it gives up.
"""

import time

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper

# A connection that served a query this recently is not sent the health check's SELECT 1.
HEALTH_CHECK_IDLE_SECONDS = 30


class DatabaseWrapper(TenantDatabaseWrapper):
    # What the connection's last successful SET search_path set (None: unknown, send it).
    search_path_on_connection = None
    # time.monotonic() when the connection last gave out a cursor.
    last_used_at = float("-inf")

    def _cursor(self, name=None):
        cursor = super()._cursor(name)
        self.last_used_at = time.monotonic()
        return cursor

    def close_if_health_check_failed(self):
        if self.used_moments_ago():
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def used_moments_ago(self) -> bool:
        connection = self.connection
        return (
            connection is not None
            and not connection.closed
            and not connection.broken
            and not self.errors_occurred
            and time.monotonic() - self.last_used_at < HEALTH_CHECK_IDLE_SECONDS
        )

    def set_tenant(self, tenant, include_public=True):
        super().set_tenant(tenant, include_public)
        if self.search_path_on_connection == self._get_cursor_search_paths():
            self.search_path_set_schemas = self.search_path_on_connection

    def _handle_search_path(self, cursor=None):
        super()._handle_search_path(cursor)
        if self.search_path_set_schemas is not None:
            self.search_path_on_connection = self.search_path_set_schemas

    def close(self):
        self.search_path_on_connection = None
        self.last_used_at = float("-inf")
        super().close()

    def rollback(self):
        self.search_path_on_connection = None
        super().rollback()

    def savepoint_rollback(self, sid):
        self.search_path_on_connection = None
        super().savepoint_rollback(sid)

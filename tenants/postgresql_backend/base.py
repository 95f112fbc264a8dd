"""django-tenants' PostgreSQL backend, with one round trip less per request.

django-tenants forgets which search_path a connection has whenever the schema is chosen again,
and every request chooses twice (public to find the host, then the organisation's), so every
request sent `SET search_path` again, even on a persistent connection that already had that very
path (`TENANT_LIMIT_SET_CALLS` only spares a request's second and later cursors). Here the
connection remembers the path it last set for real, and a choice of that same path sends
nothing. Whatever can undo a SET (closing the connection, a rollback, a rollback to a savepoint)
makes it forget, so the next cursor sends the SET again, as django-tenants arranges.
"""

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper


class DatabaseWrapper(TenantDatabaseWrapper):
    # What the connection's last successful SET search_path set (None: unknown, send it).
    search_path_on_connection = None

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
        super().close()

    def rollback(self):
        self.search_path_on_connection = None
        super().rollback()

    def savepoint_rollback(self, sid):
        self.search_path_on_connection = None
        super().savepoint_rollback(sid)

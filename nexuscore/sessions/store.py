"""The session engine (settings.SESSION_ENGINE): Django's database sessions, with the user's id
kept as a column and the user read in the same query as the session.

`SessionStore.user` is the signed-in person loaded with the row (or None); middleware.py hands it
to Django's own `get_user()`, which still checks everything it always checks (the backend, the
session's password hash, an active account) before anyone counts as signed in.

The query is written out (nexuscore/lib/rows.py): every signed-in request makes it, and the ORM's
building of it cost more than PostgreSQL's answering it.
"""

from functools import cache

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connection
from django.utils import timezone

from nexuscore.lib.rows import instances, quote, select_list, table


@cache
def session_with_user_sql() -> str:
    from nexuscore.sessions.models import Session

    user = get_user_model()
    return (
        f"SELECT {select_list(Session, 's')}, {select_list(user, 'u')}"
        f" FROM {table(Session)} s LEFT JOIN {table(user)} u"
        f" ON u.{quote(user._meta.pk.column)} = s.{quote('user_id')}"
        f" WHERE s.{quote('session_key')} = %s AND s.{quote('expire_date')} > %s"
    )


class SessionStore(DatabaseSessionStore):
    _user = None

    @classmethod
    def get_model_class(cls):
        from nexuscore.sessions.models import Session

        return Session

    def _get_session_from_db(self):
        """The live session row of this key, and its user (Django's own reads the row alone)."""
        self._user = None
        with connection.cursor() as cursor:
            cursor.execute(session_with_user_sql(), [self.session_key, timezone.now()])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        session, self._user = instances(row, (self.model, get_user_model()))
        return session

    @property
    def user(self):
        """The user named by the session's row as it was read (None: anonymous or not found).
        Reading it loads the session if nothing has yet."""
        self._get_session()
        return self._user

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        session.user_id = data.get(SESSION_KEY)
        return session

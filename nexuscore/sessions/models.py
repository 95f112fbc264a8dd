"""A session row that names its user, so that the session and the person come back together.

Django's database session keeps the signed-in user's id inside the encoded data, so every
signed-in request read the session and then the user: two round trips before a page could start.
Here the id is also a column, written whenever the session is saved (store.py), and the store
reads the session with its user in one query.

Sessions are stored per schema (docs/decisions.md, 4): the app is in both SHARED_APPS and
TENANT_APPS, so the public site's sessions are in `public` and each organisation's in its own
schema. The users are in `public`. The foreign key therefore has no database constraint (one
from an organisation's schema to `public` would stop a user's deletion on rows Django's collector
never sees there); a session whose user is gone joins to nothing and signs nobody in.
"""

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models


class Session(AbstractBaseSession):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )

    class Meta(AbstractBaseSession.Meta):
        db_table = "nexuscore_session"

    @classmethod
    def get_session_store_class(cls):
        from nexuscore.sessions.store import SessionStore

        return SessionStore

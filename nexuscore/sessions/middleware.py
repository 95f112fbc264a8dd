"""Django's AuthenticationMiddleware, given the user that came with the session.

`request.user` is still Django's `auth.get_user(request)`, with every check it makes. The only
difference is where the backend finds the user: the session store has already read it in the
session's own query (store.py), and `preloaded_user` offers it to the backends (through
`SessionUserMixin` in nexuscore/accounts/backends.py) for the length of that one call, so the
signed-in request makes one round trip for both instead of two.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial

from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.utils.functional import SimpleLazyObject

_preloaded_user = ContextVar("preloaded_user", default=None)


@contextmanager
def preloaded(user):
    token = _preloaded_user.set(user)
    try:
        yield
    finally:
        _preloaded_user.reset(token)


def preloaded_user(user_id):
    """The user read with this request's session, if it is the one asked for (else None)."""
    user = _preloaded_user.get()
    return user if user is not None and user.pk == user_id else None


def get_user(request):
    if not hasattr(request, "_cached_user"):
        session_user = getattr(request.session, "user", None)  # None from other engines
        with preloaded(session_user):
            request._cached_user = auth.get_user(request)
    return request._cached_user


class SessionUserMiddleware(AuthenticationMiddleware):
    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(partial(get_user, request))

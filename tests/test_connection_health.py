"""The connection health check (CONN_HEALTH_CHECKS) is spared on a connection used moments ago.

Each test drives a connection of its own the way Django drives one per request: the request's
start resets the check (`close_if_unusable_or_obsolete`), then the first cursor runs it. Django's
check is a `SELECT 1` through `is_usable()`; the tests count those calls.
"""

import pytest
from django.db import OperationalError, connection

from tenants.postgresql_backend.base import HEALTH_CHECK_IDLE_SECONDS, DatabaseWrapper


@pytest.fixture
def own_connection(monkeypatch):
    """A persistent connection with health checks on, and a count of its SELECT 1 checks."""
    settings = {**connection.settings_dict, "CONN_MAX_AGE": 600, "CONN_HEALTH_CHECKS": True}
    wrapper = DatabaseWrapper(settings, "health_check_test")
    wrapper.checks = 0
    is_usable = wrapper.is_usable

    def counted():
        wrapper.checks += 1
        return is_usable()

    monkeypatch.setattr(wrapper, "is_usable", counted)
    yield wrapper
    wrapper.close()


def request(wrapper) -> int:
    """One request's worth of use: start it, run a query; returns the query's answer."""
    wrapper.close_if_unusable_or_obsolete()
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 42")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_connection_used_moments_ago_is_not_checked(own_connection):
    request(own_connection)  # connects
    assert request(own_connection) == 42
    assert request(own_connection) == 42
    assert own_connection.checks == 0


@pytest.mark.django_db
def test_a_connection_idle_for_longer_is_checked_once_per_request(own_connection):
    request(own_connection)
    own_connection.last_used_at -= HEALTH_CHECK_IDLE_SECONDS + 1
    assert request(own_connection) == 42
    assert own_connection.checks == 1
    assert request(own_connection) == 42  # used moments ago again
    assert own_connection.checks == 1


@pytest.mark.django_db
def test_after_an_idle_spell_a_connection_the_server_dropped_is_replaced(own_connection):
    request(own_connection)
    backend = own_connection.connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
    own_connection.last_used_at -= HEALTH_CHECK_IDLE_SECONDS + 1
    assert request(own_connection) == 42
    assert own_connection.connection.info.backend_pid != backend


@pytest.mark.django_db
def test_within_the_window_a_dropped_connection_costs_one_request(own_connection):
    """The bargain (docs/decisions.md, 13): a connection the server dropped less than
    HEALTH_CHECK_IDLE_SECONDS after its last use fails the next request's first query; the end
    of that request finds the error and closes it, and the request after gets a new one."""
    request(own_connection)
    backend = own_connection.connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
    with pytest.raises(OperationalError):
        request(own_connection)
    assert request(own_connection) == 42
    assert own_connection.connection.info.backend_pid != backend

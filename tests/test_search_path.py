"""A persistent connection keeps its search_path between requests to the same organisation's host,
and is given the right one whenever the host changes: one round trip less per request, and never
a query in another organisation's schema."""

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.conftest import client_for, make_lead


def set_search_path_statements(client, path="/leads/") -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SET search_path")]


def test_a_second_request_to_the_same_host_sends_no_set(acme, owner):
    client = client_for(acme, owner)
    client.get("/leads/")
    assert set_search_path_statements(client) == []


def test_another_host_gets_its_own_search_path_and_its_own_data(acme, globex, owner, outsider):
    make_lead(acme, name="Only In Acme")
    make_lead(globex, name="Only In Globex")
    in_acme, in_globex = client_for(acme, owner), client_for(globex, outsider)
    in_globex.get("/leads/")  # each host looked up once (each process caches it)
    in_acme.get("/leads/")
    assert set_search_path_statements(in_globex) == ['SET search_path = "globex","public"']
    assert b"Only In Globex" in in_globex.get("/leads/").content
    assert set_search_path_statements(in_acme) == ['SET search_path = "acme","public"']
    page = in_acme.get("/leads/").content
    assert b"Only In Acme" in page and b"Only In Globex" not in page


def test_a_rollback_makes_the_next_request_set_it_again(acme, globex, owner, outsider):
    """A rolled-back SET is undone by the server: the connection forgets what it had set, and
    the next request sets its path again rather than trust a path that may be gone."""
    in_acme = client_for(acme, owner)
    in_acme.get("/leads/")
    savepoint = transaction.savepoint_create()
    client_for(globex, outsider).get("/leads/")  # SET globex inside the savepoint
    transaction.savepoint_rollback(savepoint)  # the server is back on acme's path
    assert set_search_path_statements(in_acme) == ['SET search_path = "acme","public"']

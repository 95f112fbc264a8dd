"""Sessions keep their user's id as a column, and a signed-in request reads the session and the
user in one query (nexuscore/sessions). Everything Django checks before someone counts as signed
in is still checked."""

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from nexuscore.accounts.models import User
from nexuscore.sessions.models import Session
from nexuscore.sessions.store import SessionStore
from nexuscore.sessions.tasks import delete_expired_sessions
from tenants.models import Membership, Tenant, memberships_of
from tests.conftest import client_for


def queries_of(client, path="/usage/") -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return [query["sql"] for query in queries.captured_queries]


def test_the_session_row_names_its_user(acme, owner):
    client = client_for(acme, owner)
    key = client.cookies["nexuscore_session"].value
    with schema_context("acme"):
        assert Session.objects.get(session_key=key).user_id == owner.pk


def test_signing_in_through_the_form_stores_the_user_too(acme, owner):
    client = client_for(acme)
    response = client.post("/accounts/login/", {"login": owner.email, "password": "nexuscore-demo"})
    assert response.status_code == 302
    with schema_context("acme"):
        session = Session.objects.get(session_key=client.cookies["nexuscore_session"].value)
    assert session.user_id == owner.pk


def test_the_session_and_its_user_come_back_in_one_query(acme, owner):
    client = client_for(acme, owner)
    sql = queries_of(client)
    session_reads = [q for q in sql if 'FROM "nexuscore_session"' in q]
    assert len(session_reads) == 1
    assert 'JOIN "accounts_user"' in session_reads[0]
    assert not [q for q in sql if q.startswith("SELECT") and 'FROM "accounts_user" WHERE' in q]


def test_an_anonymous_visit_reads_no_session(acme):
    sql = queries_of(client_for(acme), "/accounts/login/")
    assert not [q for q in sql if "nexuscore_session" in q]


def test_a_deactivated_account_is_signed_out_on_its_next_request(acme, member):
    client = client_for(acme, member)
    assert client.get("/leads/").status_code == 200
    User.objects.filter(pk=member.pk).update(is_active=False)
    response = client.get("/leads/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_session_whose_user_is_gone_signs_nobody_in(acme):
    person = User.objects.create_user("leaving@example.com", "a-long-password-1")
    Membership.objects.create(user=person, tenant=acme, role=Membership.Role.MEMBER)
    client = client_for(acme, person)
    assert client.get("/leads/").status_code == 200
    person.delete()
    response = client.get("/leads/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_expired_sessions_are_deleted_in_every_schema(acme, globex, owner, outsider):
    live = {
        "acme": client_for(acme, owner),
        "globex": client_for(globex, outsider),
        "public": client_for(None, owner),
    }
    stale = {"acme": client_for(acme, owner), "public": client_for(None, owner)}

    def key(client):
        return client.cookies["nexuscore_session"].value

    for schema, client in stale.items():
        with schema_context(schema):
            Session.objects.filter(session_key=key(client)).update(
                expire_date=timezone.now() - timedelta(seconds=1)
            )
    assert delete_expired_sessions() >= 2  # other tests may have left expired rows too
    for schema in ("acme", "globex", "public"):
        with schema_context(schema):
            kept = set(Session.objects.values_list("session_key", flat=True))
            assert key(live[schema]) in kept
            if schema in stale:
                assert key(stale[schema]) not in kept
            assert not Session.objects.filter(expire_date__lt=timezone.now()).exists()


@pytest.mark.parametrize("engine", ["django.contrib.sessions.backends.signed_cookies"])
def test_another_session_engine_still_signs_people_in(settings, acme, owner, engine):
    """The middleware takes the user from the store when the store has one; any other engine
    gives it none, and Django reads the user as usual."""
    settings.SESSION_ENGINE = engine
    client = client_for(acme, owner)
    assert client.get("/leads/").status_code == 200


def test_memberships_written_out_match_the_orm(acme, globex, owner, outsider):
    """memberships_of() (one hand-written query) gives what Membership.objects.of_user() gives:
    the same memberships, in the same order, each with its whole organisation, closed ones left
    out."""
    Membership.objects.create(user=owner, tenant=globex, role=Membership.Role.VIEWER)
    globex.settings = {"nested": {"json": [1, 2]}}
    globex.save(update_fields=["settings"])
    for person in (owner, outsider):
        expected = list(Membership.objects.of_user(person))
        got = memberships_of(person)
        assert [m.pk for m in got] == [m.pk for m in expected] and got
        for mine, theirs in zip(got, expected, strict=True):
            assert model_to_dict(mine) == model_to_dict(theirs)
            assert model_to_dict(mine.tenant) == model_to_dict(theirs.tenant)
            assert mine.tenant.settings == theirs.tenant.settings
    Tenant.objects.filter(pk=globex.pk).update(status=Tenant.Status.CLOSED)
    assert [m.tenant.schema_name for m in memberships_of(owner)] == ["acme"]


def test_the_session_row_written_out_matches_the_orm(acme, owner):
    client = client_for(acme, owner)
    key = client.cookies["nexuscore_session"].value
    with schema_context("acme"):
        store = SessionStore(key)
        assert store.user is not None
        assert model_to_dict(store.user) == model_to_dict(User.objects.get(pk=owner.pk))
        assert store.user.email_preferences == User.objects.get(pk=owner.pk).email_preferences
        assert store[SESSION_KEY] == str(owner.pk)
        assert SessionStore("no-such-session-key").user is None

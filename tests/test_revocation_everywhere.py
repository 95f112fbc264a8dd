"""Taking access away works on the very next request, in every process (issue 14, goal 4).

Signing out, a password change, removing a member and changing a role must each be seen by the
next request the person makes, whichever web process answers it. Sessions and the database
connection are tuned for speed; these tests make sure no process goes on trusting what it read
before the change.

Each change is tested twice:

- Against gunicorn with two sync workers (as production runs it) serving the test database,
  over plain HTTP with a new connection per request. People sign in through the real form, and
  the changes are made through the real pages: signing out and the password form by the person,
  removal and the role change by the organisation's owner on the team page. Before the change
  each worker answers the person's requests, so anything a worker could remember about them it
  has seen; after it, each worker in turn answers four (eight in all), the first of them being
  the first it takes after the change, and every one must show the change. Which worker takes
  a connection is not left to chance (left to itself, one worker took 60 in a row here): the
  other is kept busy reading an unfinished request, and gunicorn's access log, which names the
  worker of each request by an X-Probe header the app ignores, confirms who answered.
- In-process with Django's test client, on the demo organisations: the same four checks, fast.

gunicorn sees only committed rows, so the first half uses an organisation of its own, committed
and dropped afterwards together with its audit log (append-only, and counted by other tests in
acme's). gunicorn trusts one proxy (TRUSTED_PROXY_COUNT=1) and every visitor comes from an
address of its own in X-Forwarded-For, so these sign-ins share no rate limit with other tests.
"""

import http.client
import ipaddress
import itertools
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from nexuscore.accounts.models import User
from nexuscore.leads.models import Lead
from nexuscore.onboarding.provisioning import provision_tenant
from tenants.models import Membership, Tenant
from tenants.schemas import fill_schema_pool
from tests.browser import serve_test_database
from tests.conftest import PASSWORD, client_for, host, in_schema

# Marked, gunicorn's tests included: pytest-django builds the test database only for the tests it
# sees need one, and without it they would run against the development database. What gunicorn
# must see is committed by the module's fixtures, before each test's transaction begins (and
# gunicorn's own changes are committed by gunicorn).
pytestmark = pytest.mark.django_db

ANSWERS_PER_WORKER = 4  # after each change: 8 requests, 4 answered by each of the 2 workers

NEW_PASSWORD = "a-new-revocation-passphrase-2026"
NOT_ALLOWED_LEAD = {
    "name": "Refused Lim",
    "email": "refused.lim@example.sg",
    "source": "manual",
    "status": "new",
}
ADD_LEAD = 'href="/leads/new/"'  # the list's "Add lead" button, shown to those who may add
NOT_A_MEMBER = "not a member of this organisation"
ROLE_FORBIDS = "Your role doesn't allow this"

_probes = itertools.count(1)
# One address per visitor, from 198.18.0.0/15 (set aside for testing networks, RFC 2544).
_addresses = (str(ipaddress.ip_address("198.18.0.1") + n) for n in itertools.count())


# --- gunicorn, and visitors over plain HTTP ----------------------------------------------------


@dataclass
class Server:
    """gunicorn and its worker processes (their pids, as its access log names the worker of each
    request)."""

    port: int
    access_log: Path
    workers: tuple[str, ...] = ()

    def worker_of(self, probe: str) -> str:
        """The worker (its pid) that answered the request carrying `probe`. The log line is
        written just after the answer is sent, so it may take a moment to appear."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for line in self.access_log.read_text().splitlines():
                worker, _, logged = line.partition(" ")
                if logged == probe:
                    return worker
            time.sleep(0.01)
        raise AssertionError(f"no worker logged the request {probe}")


@dataclass
class Answer:
    status: int
    location: str
    text: str = field(repr=False)
    worker: str = ""

    @property
    def asks_to_sign_in(self) -> bool:
        return self.status == 302 and self.location.startswith("/accounts/login/")


def new_probe() -> str:
    return f"probe-{next(_probes)}"


class Visitor:
    """One browser on one host: its cookies (host-only, as all of ours are), and the address
    our proxy would report for it."""

    def __init__(self, server: Server, host: str):
        self.server = server
        self.host = host
        self.address = next(_addresses)
        self.cookies: dict[str, str] = {}

    def holding_the_same_cookies(self) -> "Visitor":
        """Another tab, or a copy of the cookie: the same session sent from elsewhere."""
        other = Visitor(self.server, self.host)
        other.cookies = dict(self.cookies)
        return other

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        self.get("/accounts/login/")  # the CSRF cookie
        answer = self.post("/accounts/login/", {"login": email, "password": password})
        assert answer.status == 302, answer
        assert settings.SESSION_COOKIE_NAME in self.cookies

    def get(self, path: str, probe: str = "") -> Answer:
        return self._send("GET", path, None, probe)

    def post(self, path: str, data: dict, probe: str = "") -> Answer:
        body = urlencode({**data, "csrfmiddlewaretoken": self.cookies["csrftoken"]})
        return self._send("POST", path, body, probe)

    def _send(self, method: str, path: str, body: str | None, probe: str) -> Answer:
        origin = f"http://{self.host}:{self.server.port}"
        headers = {
            "Host": f"{self.host}:{self.server.port}",
            "Connection": "close",  # a new connection each time, taken by whichever worker
            "X-Forwarded-For": self.address,
            "X-Probe": probe or "-",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = origin + path
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            answer = Answer(response.status, response.getheader("Location", ""), "")
            answer.text = response.read().decode()
            for header in response.msg.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel.value and morsel["max-age"] != "0":
                        self.cookies[name] = morsel.value
                    else:
                        self.cookies.pop(name, None)
        finally:
            connection.close()
        if probe:
            answer.worker = self.server.worker_of(probe)
        return answer


class Hold:
    """A request left unfinished: the worker reading it can take nothing else until release()."""

    def __init__(self, server: Server):
        self.server = server
        self.probe = new_probe()
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        self.sock.sendall(
            f"GET /accounts/login/ HTTP/1.1\r\nHost: localhost:{server.port}\r\n"
            f"X-Probe: {self.probe}\r\n".encode()
        )

    def release(self) -> str:
        """Finish the request; returns the worker that had it."""
        self.sock.sendall(b"Connection: close\r\n\r\n")
        while self.sock.recv(65536):
            pass
        self.sock.close()
        return self.server.worker_of(self.probe)


def _answering(server: Server) -> str:
    """The worker that takes the next connection (one that is free)."""
    return Visitor(server, "localhost").get("/accounts/login/", new_probe()).worker


@contextmanager
def only(server: Server, worker: str):
    """Inside, every new connection is taken by `worker`, the other one being kept busy.

    gunicorn's sync workers take connections from one socket, whichever is free and wakes first;
    the same one may take every connection for seconds on end.
    """
    hold = Hold(server)
    if _answering(server) != worker:
        # `worker` has the hold. The other, the only free one, takes a second hold...
        other = Hold(server)
        time.sleep(0.05)  # (it is waiting for a connection; give it time to take this one)
        hold.release()  # ...and `worker`, free again, is the only one left.
        hold = other
    try:
        yield
    finally:
        hold.release()


def on_every_worker(server: Server, ask, times: int = ANSWERS_PER_WORKER) -> list[Answer]:
    """Each worker in turn answers `times` of the requests `ask(probe)` makes; returns the
    answers, each with its worker."""
    answers = []
    for worker in server.workers:
        with only(server, worker):
            answers += [ask(new_probe()) for _ in range(times)]
    expected = [worker for worker in server.workers for _ in range(times)]
    assert [answer.worker for answer in answers] == expected, "a request reached a held worker"
    return answers


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    """gunicorn with two sync workers (as production runs), trusting one proxy in front of it.
    Its own log (a worker that failed to start, say) is beside the access log."""
    logs = tmp_path_factory.mktemp("gunicorn")
    access_log = logs / "access.log"
    options = ["-w", "2", "--error-logfile", str(logs / "error.log")]
    options += ["--access-logfile", str(access_log), "--access-logformat", "%(p)s %({x-probe}i)s"]
    with serve_test_database(*options, TRUSTED_PROXY_COUNT="1") as port:
        server = Server(port, access_log)
        hold = Hold(server)
        one = _answering(server)
        server.workers = (one, hold.release())
        assert one != server.workers[1]
        yield server


# --- The organisation gunicorn serves ----------------------------------------------------------

# Who each test changes, and their role before it; each test has a person of its own.
PEOPLE = {
    "owner": "owner",
    "signs_out": "member",
    "changes_password": "member",
    "is_removed": "member",
    "is_demoted": "admin",
}


@dataclass
class Organisation:
    tenant: Tenant
    people: dict[str, User]

    @property
    def host(self) -> str:
        return host(self.tenant)

    def membership(self, key: str) -> Membership:
        return Membership.objects.get(tenant=self.tenant, user=self.people[key])


def _person(key: str) -> User:
    email = f"{key.replace('_', '.')}@revocation.test"
    user = User.objects.create_user(email, PASSWORD, key.replace("_", " ").title())
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


@pytest.fixture(scope="module")
def organisation(django_db_setup, django_db_blocker):
    """Revocation Pte. Ltd. and the people of PEOPLE, committed for gunicorn to see; the person
    to be removed is also a member of globex. All of it is removed afterwards."""
    with django_db_blocker.unblock():
        people = {key: _person(key) for key in PEOPLE}
        tenant = provision_tenant(
            name="Revocation Pte. Ltd.", slug="revocation", owner=people["owner"]
        )
        for key, role in PEOPLE.items():
            if role != "owner":
                Membership.objects.create(tenant=tenant, user=people[key], role=role)
        Membership.objects.create(
            tenant=Tenant.objects.get(schema_name="globex"), user=people["is_removed"]
        )
    try:
        yield Organisation(tenant, people)
    finally:
        with django_db_blocker.unblock():
            tenant.delete(force_drop=True)
            for person in people.values():
                person.delete()
            fill_schema_pool(2)


# --- Against gunicorn, two workers -------------------------------------------------------------


def test_signing_out_signs_out_every_copy_of_the_cookie_on_every_worker(server, organisation):
    """The person signs out with the button's POST; another tab holding the same cookie is
    asked to sign in on its next request, whichever worker takes it."""
    tab = Visitor(server, organisation.host)
    tab.sign_in(organisation.people["signs_out"].email)
    other_tab = tab.holding_the_same_cookies()
    before = on_every_worker(server, lambda probe: other_tab.get("/leads/", probe))
    assert [answer for answer in before if answer.status != 200] == []

    assert tab.post("/accounts/logout/", {}).status == 302

    after = on_every_worker(server, lambda probe: other_tab.get("/leads/", probe))
    assert [answer for answer in after if not answer.asks_to_sign_in] == []


def test_a_password_change_signs_out_the_other_sessions_on_every_worker(server, organisation):
    """The person changes their password on the password page in one session; their two other
    sessions on the organisation's host and one on the public site (another schema) are asked
    to sign in from their next request on, and the session that made the change stays in.

    The first request of a stale session ends it for good (Django flushes a session whose
    password hash no longer matches), so a worker that kept the old password around would be
    caught only by a first request: each worker therefore has an other session of its own,
    whose first request after the change it takes."""
    person = organisation.people["changes_password"]
    changing = Visitor(server, organisation.host)
    changing.sign_in(person.email)
    other_sessions = {}
    for worker in server.workers:
        other_sessions[worker] = Visitor(server, organisation.host)
        other_sessions[worker].sign_in(person.email)
    public = Visitor(server, "localhost")
    public.sign_in(person.email)
    page = {organisation.host: "/leads/", "localhost": "/accounts/organisations/"}
    for visitor in [*other_sessions.values(), public]:
        before = on_every_worker(server, lambda probe, v=visitor: v.get(page[v.host], probe))
        assert [answer for answer in before if answer.status != 200] == []

    change = changing.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert change.status == 302, change
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)

    for worker, visitor in other_sessions.items():
        with only(server, worker):
            first = visitor.get("/leads/", new_probe())
        assert first.worker == worker
        assert first.asks_to_sign_in, first
    for visitor in [*other_sessions.values(), public]:
        after = on_every_worker(server, lambda probe, v=visitor: v.get(page[v.host], probe))
        assert [answer for answer in after if not answer.asks_to_sign_in] == []
    still_in = on_every_worker(server, lambda probe: changing.get("/leads/", probe))
    assert [answer for answer in still_in if answer.status != 200] == []


def test_a_removed_member_is_refused_at_once_on_every_worker(server, organisation):
    """The owner removes the person on the team page (the Remove button's POST); from the
    person's next request on, every worker answers this organisation's pages (the leads and the
    dashboard) with the not-a-member page (403), while their membership of globex goes on
    working."""
    person = organisation.people["is_removed"]
    here = Visitor(server, organisation.host)
    here.sign_in(person.email)
    at_globex = Visitor(server, "globex.localhost")
    at_globex.sign_in(person.email)
    for visitor in (here, at_globex):
        before = on_every_worker(server, lambda probe, v=visitor: v.get("/leads/", probe))
        assert [answer for answer in before if answer.status != 200] == []
    membership = organisation.membership("is_removed")

    owner = Visitor(server, organisation.host)
    owner.sign_in(organisation.people["owner"].email)
    assert owner.post(f"/team/members/{membership.pk}/remove/", {}).status == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()

    for path in ("/leads/", "/"):
        after = on_every_worker(server, lambda probe, path=path: here.get(path, probe))
        assert [a for a in after if a.status != 403 or NOT_A_MEMBER not in a.text] == []
    at_globex_after = on_every_worker(server, lambda probe: at_globex.get("/leads/", probe))
    assert [answer for answer in at_globex_after if answer.status != 200] == []


def test_a_lowered_role_holds_from_the_next_request_on_every_worker(server, organisation):
    """The owner makes an administrator a viewer on the team page (the role form's POST). From
    the person's next request on, every worker hides what a viewer may not use (the "Add lead"
    button, the team's Remove buttons) and refuses the new-lead page and the POST that would
    add a lead (403)."""
    person = organisation.people["is_demoted"]
    demoted = Visitor(server, organisation.host)
    demoted.sign_in(person.email)
    leads = on_every_worker(server, lambda probe: demoted.get("/leads/", probe))
    assert [answer for answer in leads if ADD_LEAD not in answer.text] == []
    new_lead = on_every_worker(server, lambda probe: demoted.get("/leads/new/", probe))
    assert [answer for answer in new_lead if answer.status != 200] == []
    team = on_every_worker(server, lambda probe: demoted.get("/team/", probe))
    assert [answer for answer in team if "/remove/" not in answer.text] == []
    membership = organisation.membership("is_demoted")

    owner = Visitor(server, organisation.host)
    owner.sign_in(organisation.people["owner"].email)
    assert owner.post(f"/team/members/{membership.pk}/role/", {"role": "viewer"}).status == 302
    assert organisation.membership("is_demoted").role == "viewer"

    leads = on_every_worker(server, lambda probe: demoted.get("/leads/", probe))
    assert [answer for answer in leads if answer.status != 200 or ADD_LEAD in answer.text] == []
    team = on_every_worker(server, lambda probe: demoted.get("/team/", probe))
    assert [answer for answer in team if answer.status != 200 or "/remove/" in answer.text] == []
    for ask in (
        lambda probe: demoted.get("/leads/new/", probe),
        lambda probe: demoted.post("/leads/new/", NOT_ALLOWED_LEAD, probe),
    ):
        refused = on_every_worker(server, ask)
        assert [a for a in refused if a.status != 403 or ROLE_FORBIDS not in a.text] == []
    assert in_schema(organisation.tenant, Lead.objects.count) == 0


# --- In-process, with the test client ----------------------------------------------------------


def _asks_to_sign_in(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_in_process_signing_out_signs_out_a_copy_of_the_cookie(acme, member):
    tab = client_for(acme, member)
    other_tab = Client(HTTP_HOST=host(acme))
    session = settings.SESSION_COOKIE_NAME
    other_tab.cookies[session] = tab.cookies[session].value
    assert other_tab.get("/leads/").status_code == 200

    assert tab.post("/accounts/logout/").status_code == 302

    assert _asks_to_sign_in(other_tab.get("/leads/"))


def test_in_process_a_password_change_signs_out_the_other_sessions(acme, member):
    changing = client_for(acme, member)
    other = client_for(acme, member)  # another session: another browser
    public = client_for(None, member)
    assert other.get("/leads/").status_code == 200
    assert public.get("/accounts/organisations/").status_code == 200

    response = changing.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302

    assert _asks_to_sign_in(other.get("/leads/"))
    assert _asks_to_sign_in(public.get("/accounts/organisations/"))
    assert changing.get("/leads/").status_code == 200


def test_in_process_a_removed_member_is_refused_at_once(acme, globex, owner, member):
    Membership.objects.create(tenant=globex, user=member)
    here, at_globex = client_for(acme, member), client_for(globex, member)
    assert here.get("/leads/").status_code == 200
    membership = Membership.objects.get(tenant=acme, user=member)

    response = client_for(acme, owner).post(f"/team/members/{membership.pk}/remove/")
    assert response.status_code == 302

    response = here.get("/leads/")
    assert response.status_code == 403
    assert NOT_A_MEMBER in response.text
    assert at_globex.get("/leads/").status_code == 200


def test_in_process_a_lowered_role_holds_from_the_next_request(acme, owner, admin):
    demoted = client_for(acme, admin)
    assert ADD_LEAD in demoted.get("/leads/").text
    assert "/remove/" in demoted.get("/team/").text
    assert demoted.get("/leads/new/").status_code == 200
    membership = Membership.objects.get(tenant=acme, user=admin)

    response = client_for(acme, owner).post(
        f"/team/members/{membership.pk}/role/", {"role": "viewer"}
    )
    assert response.status_code == 302

    assert ADD_LEAD not in demoted.get("/leads/").text
    assert "/remove/" not in demoted.get("/team/").text
    assert demoted.get("/leads/new/").status_code == 403
    assert demoted.post("/leads/new/", NOT_ALLOWED_LEAD).status_code == 403
    with schema_context(acme.schema_name):
        assert not Lead.objects.filter(email=NOT_ALLOWED_LEAD["email"]).exists()

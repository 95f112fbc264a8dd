"""Error reporting: what reaches Sentry, and what never does (nexuscore/lib/errors.py).

The SDK is pointed at a small HTTP server in this process that accepts Sentry's envelope
protocol (POST /api/<project>/envelope/), so the test reads exactly the bytes that would leave
for Sentry.
"""

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sentry_sdk
from django.test import override_settings

from nexuscore.lib.errors import start_error_reporting, stop_error_reporting
from tenants.tasks import enqueue_in_schema
from tests.conftest import client_for

SECRET_COOKIE = "cookie-value-never-sent"


class EnvelopeHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.headers.get("Content-Encoding") == "br":
            import brotli

            body = brotli.decompress(body)
        self.server.envelopes.append((self.path, body.decode()))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def events(envelopes) -> list[dict]:
    """The error events in the envelopes: each envelope is a header line, then an item header
    line and its payload line for every item."""
    found = []
    for _path, body in envelopes:
        lines = body.splitlines()
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                found.append(json.loads(payload))
    return found


@pytest.fixture
def sentry():
    server = ThreadingHTTPServer(("127.0.0.1", 0), EnvelopeHandler)
    server.envelopes = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    start_error_reporting(
        f"http://publickey@127.0.0.1:{server.server_port}/42",
        environment="test",
        release="nexuscore@test",
        traces_sample_rate=0,
    )
    yield server
    stop_error_reporting()
    server.shutdown()
    server.server_close()


def sent(server):
    sentry_sdk.flush(timeout=5)
    assert server.envelopes, "nothing reached the Sentry server"
    assert all(path == "/api/42/envelope/" for path, _ in server.envelopes)
    raw = "\n".join(body for _, body in server.envelopes)
    return events(server.envelopes), raw


@override_settings(ROOT_URLCONF="tests.errors_urls")
def test_a_view_error_arrives_tagged_and_without_personal_data(sentry, acme, owner):
    client = client_for(acme, owner)
    client.raise_request_exception = False
    client.cookies["tracking"] = SECRET_COOKIE
    form = {
        "email": "joann.tan@example.com",
        "name": "Joann Tan Mei Ling",
        "phone": "+65 9123 4567",
        "notes": "met at the fair",
    }
    response = client.post("/boom/?email=ann.lim%40example.com", form)
    assert response.status_code == 500

    found, raw = sent(sentry)
    [event] = found
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    assert event["tags"]["organisation"] == "acme"
    assert event["user"] == {"id": str(owner.pk)}
    assert event["environment"] == "test"
    assert event["release"] == "nexuscore@test"
    assert event["tags"]["request_id"] == response["X-Request-ID"]
    for personal in (
        "joann.tan@example.com",
        "ann.lim",
        "owner@acme.test",
        "Joann Tan",
        "9123 4567",
        "met at the fair",
        SECRET_COOKIE,
        client.cookies["nexuscore_session"].value,
    ):
        assert personal not in raw, personal


def fails_for(email):
    """A task that fails with a customer's email address in its message."""
    raise RuntimeError(f"no lead with the address {email}")


def test_a_task_error_arrives_tagged_with_its_organisation(sentry, acme):
    with pytest.raises(RuntimeError):  # tasks run inline in the tests; the worker reports first
        enqueue_in_schema("acme", "tests.test_errors.fails_for", "ann.lim@example.com")

    found, raw = sent(sentry)
    [event] = found
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["tags"]["organisation"] == "acme"
    assert event["tags"]["task"] == "tests.test_errors.fails_for"
    assert event["tags"]["attempt"] == "1"
    assert "ann.lim@example.com" not in raw
    assert "no lead with the address [Filtered]" in raw


def test_nothing_is_sent_when_sentry_is_off(acme):
    """No SENTRY_DSN: the SDK has no client, so a failing task reaches nobody."""
    assert not sentry_sdk.get_client().is_active()
    with pytest.raises(RuntimeError):
        enqueue_in_schema("acme", "tests.test_errors.fails_for", "ann.lim@example.com")

"""Billing test helpers: Stripe faked at the HTTP boundary, and signed webhook deliveries.

`fake_stripe` runs a small HTTP server on 127.0.0.1 that answers the few Stripe API calls
NexusCore makes with objects from tests/stripe_objects.py; the real SDK talks to it
(settings.STRIPE_API_BASE) and every request is recorded. Webhook payloads are built from the
same objects and signed as Stripe signs them. Nothing here reads files outside the repository.
"""

import hashlib
import hmac
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests import stripe_objects
from tests.stripe_objects import DAY, NOW  # noqa: F401 (tests import them from here)

WEBHOOK_SECRET = "whsec_test_nexuscore"
_event_ids = itertools.count(1)


def stripe_object(resource: str, **changes) -> dict:
    """A new Stripe `resource` object (see tests/stripe_objects.py), with `changes` applied."""
    return stripe_objects.build(resource, **changes)


def stripe_event(event_type: str, data_object: dict, *, created=None, event_id=None) -> dict:
    return stripe_objects.event(
        type=event_type,
        data_object=data_object,
        id=event_id or f"evt_test_{next(_event_ids):06d}",
        created=int(created if created is not None else time.time()),
    )


def signature(body: bytes, secret=WEBHOOK_SECRET, at=None) -> str:
    timestamp = int(at if at is not None else time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def deliver(event: dict, secret=WEBHOOK_SECRET, at=None):
    """POST the event to /webhooks/stripe/ on the public host, signed; tasks run inline, and
    what they leave for after their commit (the outbox's mail) runs before this returns."""
    from django.test import TestCase

    from tests.conftest import client_for  # conftest imports this module

    body = json.dumps(event).encode()
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client_for(None).post(
            "/webhooks/stripe/",
            body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature(body, secret, at),
        )


def subscription_object(
    tenant,
    *,
    status="active",
    price="price_test_growth_month",
    id="sub_test_acme",
    customer="cus_test_acme",
    **changes,
):
    """The organisation's Stripe subscription (its id in the metadata, the current period on
    its item, as API 2026-10-28.endive has it)."""
    return stripe_objects.subscription(
        id=id,
        customer=customer,
        status=status,
        price_id=price,
        tenant_id=tenant.pk,
        **changes,
    )


def invoice_object(
    tenant,
    *,
    id="in_test_1",
    subtotal=14900,
    status="open",
    subscription="sub_test_acme",
    customer="cus_test_acme",
    **changes,
):
    """A Stripe invoice for the organisation's subscription (under
    parent.subscription_details, as API 2026-10-28.endive has it)."""
    return stripe_objects.invoice(
        id=id,
        customer=customer,
        subscription=subscription,
        status=status,
        subtotal=subtotal,
        tenant_id=tenant.pk,
        **changes,
    )


def checkout_object(
    tenant, *, paid=True, id="cs_test_acme", subscription="sub_test_acme", customer="cus_test_acme"
):
    """A completed subscription-mode Checkout Session started by the organisation."""
    return stripe_objects.checkout_session(
        id=id,
        tenant_id=tenant.pk,
        subscription=subscription,
        customer=customer,
        metadata={"tenant_id": str(tenant.pk), "plan": "growth-month"},
        payment_status="paid" if paid else "unpaid",
        status="complete",
    )


class FakeStripe:
    """Answers POST /v1/customers, /v1/checkout/sessions, /v1/billing_portal/sessions and
    GET /v1/invoice_payments; `requests` lists what arrived, `fail_next` makes the next
    answers 500s. `build(resource, **changes)` makes the objects it answers with: our own
    (stripe_object) unless a test swaps in Stripe's examples (test_stripe_reference.py)."""

    def __init__(self):
        self.build = stripe_object
        self.requests: list[dict] = []
        self.fail_next = 0
        self.invoice_for_payment_intent: dict[str, str] = {}
        self._ids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._answer(self, "GET")

            def do_POST(self):
                fake._answer(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def calls(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]

    def _answer(self, handler, method):
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        params = dict(parse_qsl(body or url.query, keep_blank_values=True))
        self.requests.append(
            {
                "method": method,
                "path": url.path,
                "params": params,
                "idempotency_key": handler.headers.get("Idempotency-Key"),
                "authorization": handler.headers.get("Authorization"),
                "stripe_version": handler.headers.get("Stripe-Version"),
            }
        )
        if self.fail_next:
            self.fail_next -= 1
            return self._send(handler, 500, {"error": {"type": "api_error", "message": "boom"}})
        status, answer = self._route(method, url.path, params)
        self._send(handler, status, answer)

    def _route(self, method, path, params):
        number = next(self._ids)
        if (method, path) == ("POST", "/v1/customers"):
            metadata = {k[9:-1]: v for k, v in params.items() if k.startswith("metadata[")}
            return 200, self.build(
                "customer",
                id=f"cus_test_{number}",
                name=params.get("name"),
                email=params.get("email"),
                metadata=metadata,
            )
        if (method, path) == ("POST", "/v1/checkout/sessions"):
            session_id = f"cs_test_{number}"
            return 200, self.build(
                "checkout.session",
                id=session_id,
                mode="subscription",
                customer=params.get("customer"),
                client_reference_id=params.get("client_reference_id"),
                url=f"https://checkout.stripe.com/c/pay/{session_id}",
            )
        if (method, path) == ("POST", "/v1/billing_portal/sessions"):
            return 200, self.build(
                "billing_portal.session",
                id=f"bps_test_{number}",
                customer=params.get("customer"),
                return_url=params.get("return_url"),
                url=f"https://billing.stripe.com/p/session/test_{number}",
            )
        if (method, path) == ("GET", "/v1/invoice_payments"):
            invoice = self.invoice_for_payment_intent.get(params.get("payment[payment_intent]"))
            data = [self.build("invoice_payment", invoice=invoice)] if invoice else []
            return 200, {"object": "list", "data": data, "has_more": False, "url": path}
        return 404, {"error": {"type": "invalid_request_error", "message": f"no {path}"}}

    @staticmethod
    def _send(handler, status, answer):
        body = json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


@pytest.fixture
def fake_stripe(settings):
    """Stripe configured (test keys) and answering from a local fake."""
    fake = FakeStripe()
    settings.STRIPE_SECRET_KEY = "sk_test_nexuscore"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_MAX_NETWORK_RETRIES = 1
    yield fake
    fake.stop()


@pytest.fixture
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    return WEBHOOK_SECRET


def _forget_media_root():
    # django-tenants' storage caches MEDIA_ROOT on first use and never forgets it (its
    # setting_changed hook passes the wrong argument), so a test's own folder would be ignored.
    from django.core.files.storage import default_storage

    default_storage._setup()
    default_storage._wrapped.__dict__.pop("relative_media_root", None)


@pytest.fixture
def billing_media(settings, tmp_path):
    """Invoice PDFs go to a folder of this test's own."""
    settings.MEDIA_ROOT = tmp_path
    _forget_media_root()
    yield tmp_path
    _forget_media_root()

"""Messages set while answering an HTMX request reach the person as out-of-band toasts."""

from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.http import HttpResponse, HttpResponseRedirect
from django.test import RequestFactory
from django_htmx.middleware import HtmxMiddleware

from nexuscore.lib.htmx import HtmxMessagesMiddleware


def _request(htmx=True):
    headers = {"HX-Request": "true"} if htmx else {}
    request = RequestFactory().post("/", headers=headers)
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    HtmxMiddleware(lambda r: None)(request)
    return request


def _saving_view(response):
    def view(request):
        messages.success(request, "Lead saved.")
        return response

    return view


def test_htmx_partial_gets_the_toast_out_of_band(db):
    request = _request()
    response = HtmxMessagesMiddleware(_saving_view(HttpResponse("<tr>row</tr>")))(request)
    body = response.content.decode()
    assert body.startswith("<tr>row</tr>")
    assert 'hx-swap-oob="beforeend"' in body
    assert "Lead saved." in body


def test_full_page_requests_are_left_to_the_layout(db):
    request = _request(htmx=False)
    response = HtmxMessagesMiddleware(_saving_view(HttpResponse("<html></html>")))(request)
    assert b"Lead saved." not in response.content


def test_redirects_keep_their_messages_for_the_next_page(db):
    request = _request()
    response = HtmxMessagesMiddleware(_saving_view(HttpResponseRedirect("/")))(request)
    assert b"Lead saved." not in response.content
    assert [m.message for m in messages.get_messages(request)] == ["Lead saved."]

"""The marketing pages each web process keeps for visitors (nexuscore/marketing/cache.py): served
again without the database, identical to the page itself, and never to or from someone signed in,
someone with a message waiting, an organisation's host or a page with a form."""

import re
import time

import pytest
import time_machine
from django.contrib.messages import constants
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpRequest, HttpResponse
from django.middleware.csp import get_nonce
from django.middleware.csrf import get_token
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.decorators.vary import vary_on_headers

from nexuscore.billing.models import Plan
from nexuscore.marketing import cache as visitor_cache
from nexuscore.marketing.cache import VISITOR_CACHE_SECONDS, cache_for_visitors
from tests.conftest import client_for

# The pages `cache_for_visitors` shares (the contact form is the one public page it does not).
SHARED_PAGES = [
    "/",
    "/features/",
    "/pricing/",
    "/about/",
    "/contact/thanks/",
    "/privacy/",
    "/terms/",
]


def is_kept(response) -> bool:
    """Whether the answer came from the kept pages (only they carry an Age)."""
    return "Age" in response


def with_message_waiting(text: str):
    """A visitor who is not signed in, with a message waiting in the messages cookie (as after a
    form that redirects)."""
    storage = CookieStorage(HttpRequest())
    storage.add(constants.SUCCESS, text)
    carrier = HttpResponse()
    storage.update(carrier)
    client = client_for(None)
    client.cookies[CookieStorage.cookie_name] = carrier.cookies[CookieStorage.cookie_name].value
    return client


# --- Kept and served again ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/pricing/", "/pricing/?period=year"])
def test_the_next_visitor_gets_the_page_without_touching_the_database(
    db, django_assert_num_queries, path
):
    first = client_for(None).get(path)
    # Another visitor, carrying a cookie that is neither a session nor a message.
    next_visitor = client_for(None)
    next_visitor.cookies["csrftoken"] = "a" * 32
    with django_assert_num_queries(0):
        again = next_visitor.get(path)
    assert again.status_code == 200
    assert again.content == first.content
    assert is_kept(again)


@pytest.mark.parametrize("path", SHARED_PAGES)
def test_every_page_shared_with_visitors_is_kept(db, path):
    client = client_for(None)
    assert not is_kept(client.get(path))
    assert is_kept(client.get(path))


def test_a_kept_page_is_the_page_itself_with_its_age(db):
    client = client_for(None)
    page = client.get("/pricing/")
    kept = client.get("/pricing/")
    assert kept.content == page.content
    assert int(kept["Age"]) >= 0
    own = {"Age", "X-Request-ID"}  # each answer has its own request id (nexuscore/lib/logs.py)
    assert {name: value for name, value in kept.items() if name not in own} == {
        name: value for name, value in page.items() if name not in own
    }
    assert kept["X-Request-ID"] != page["X-Request-ID"]
    for header in [
        "Content-Security-Policy",
        "X-Frame-Options",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Cross-Origin-Opener-Policy",
        "Vary",
    ]:
        assert kept[header] == page[header], header
    assert kept["Cache-Control"] == "public, max-age=300"


def test_a_shared_page_sets_no_cookie_and_carries_no_csrf_token(owner):
    page = client_for(None).get("/")
    assert not page.cookies
    assert b"X-CSRFToken" not in page.content
    # Signed in, the same page carries the token for htmx's posts.
    assert b"X-CSRFToken" in client_for(None, owner).get("/").content


def test_head_is_answered_from_the_kept_page(db, django_assert_num_queries):
    client = client_for(None)
    page = client.get("/")
    with django_assert_num_queries(0):
        head = client.head("/")
    assert head.status_code == 200
    assert head.content == b""
    assert head["Content-Length"] == page["Content-Length"]
    assert is_kept(head)


def test_head_alone_keeps_nothing(db):
    """A HEAD's answer may come without its body, so only a GET's is kept."""
    client = client_for(None)
    assert client.head("/").status_code == 200
    assert not is_kept(client.get("/"))


def test_each_htmx_request_gets_its_own_kept_answer(db):
    client = client_for(None)
    address = "/pricing/?period=year"
    page = client.get(address)
    partial = client.get(address, headers={"HX-Request": "true"})
    restore = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    restored = client.get(address, headers=restore)
    boosted = client.get(address, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert b"<html" in page.content
    assert b"<html" not in partial.content
    assert b"<html" in restored.content
    assert b"<html" in boosted.content
    again = client.get(address, headers={"HX-Request": "true"})
    assert is_kept(again)
    assert again.content == partial.content


def test_a_price_change_shows_once_the_kept_page_expires(db):
    client = client_for(None)
    with time_machine.travel(time.time(), tick=False) as traveller:
        client.get("/pricing/")
        Plan.objects.filter(sku="starter-month").update(amount_cents=5900)
        traveller.shift(VISITOR_CACHE_SECONDS - 1)
        assert "S$59.00" not in client.get("/pricing/").content.decode()  # up to 5 minutes old
        traveller.shift(1)
        assert "S$59.00" in client.get("/pricing/").content.decode()


def test_memory_is_bounded_and_the_least_recently_served_page_goes_first(db, monkeypatch):
    client = client_for(None)
    monkeypatch.setattr(visitor_cache, "MAX_BYTES", 20_000)  # room for one page of about 16 KB
    client.get("/")
    client.get("/features/")
    assert is_kept(client.get("/features/"))
    assert not is_kept(client.get("/"))


# --- Never kept for or from someone in particular ----------------------------------------------


def test_signed_in_people_never_get_the_kept_page_nor_fill_it(owner):
    visitor, signed_in = client_for(None), client_for(None, owner)
    assert b"Account menu for" in signed_in.get("/").content
    page = visitor.get("/")
    assert not is_kept(page)
    assert b"Account menu for" not in page.content
    again = signed_in.get("/")
    assert not is_kept(again)
    assert b"Account menu for" in again.content


def test_a_visitor_with_a_message_waiting_never_gets_the_kept_page_nor_fills_it(db):
    client_for(None).get("/")
    page = with_message_waiting("Thank you, we will be in touch.").get("/")
    assert not is_kept(page)
    assert b"Thank you, we will be in touch." in page.content

    waiting = with_message_waiting("Your enquiry is on its way.")
    assert b"Your enquiry is on its way." in waiting.get("/features/").content
    page = client_for(None).get("/features/")
    assert not is_kept(page)
    assert b"Your enquiry is on its way." not in page.content


def test_pages_on_an_organisation_host_are_never_kept(acme, settings):
    # Even a page marked public for visitors, were an organisation's host to serve one.
    settings.ROOT_URLCONF = "nexuscore.urls_public"
    client = client_for(acme)
    page = client.get("/")
    assert page.status_code == 200
    assert "public" in page["Cache-Control"]
    assert not is_kept(client.get("/"))


def test_the_contact_form_is_never_kept(db):
    client = client_for(None)
    first, second = client.get("/contact/"), client.get("/contact/")
    assert not is_kept(second)
    key = re.compile(rb'name="submission_key" value="(\w+)"')
    assert key.search(first.content)[1] != key.search(second.content)[1]
    assert "csrftoken" in second.cookies


# --- Pages marked public that still say they are someone's -------------------------------------


@cache_for_visitors
def the_same_for_everyone(request):
    return HttpResponse("the same for everyone")


@cache_control(max_age=300)
def not_marked_public(request):
    return HttpResponse("kept by browsers, not said to be shared")


@cache_control(private=True, max_age=300)
def marked_private(request):
    return HttpResponse("for this visitor only")


@cache_for_visitors
def with_a_csrf_token(request):
    return HttpResponse(f"a form's token {get_token(request)}")


@cache_for_visitors
def with_a_csp_nonce(request):
    return HttpResponse(f"a script's nonce {get_nonce(request)}")


@cache_for_visitors
def setting_a_cookie(request):
    response = HttpResponse("a cookie for you")
    response.set_cookie("seen", "yes")
    return response


@vary_on_headers("Accept-Language")
@cache_for_visitors
def in_the_visitors_language(request):
    return HttpResponse("in your language")


urlpatterns = [
    path("same/", the_same_for_everyone),
    path("unmarked/", not_marked_public),
    path("private/", marked_private),
    path("token/", with_a_csrf_token),
    path("nonce/", with_a_csp_nonce),
    path("cookie/", setting_a_cookie),
    path("language/", in_the_visitors_language),
    path("", include("nexuscore.urls_public")),
]


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("/same/", True),
        ("/unmarked/", False),
        ("/private/", False),
        ("/token/", False),
        ("/nonce/", False),
        ("/cookie/", False),
        ("/language/", False),
    ],
)
def test_a_page_is_kept_only_when_nothing_in_it_is_someones(db, settings, path, kept):
    settings.PUBLIC_SCHEMA_URLCONF = __name__
    client = client_for(None)
    first = client.get(path)
    assert first.status_code == 200
    assert is_kept(client.get(path)) is kept

"""Pages that look the same to every visitor, kept in each web process for a few minutes.

`cache_for_visitors` marks such a page: `Cache-Control: public, max-age=300` for a visitor who is
not signed in and has no message waiting, private otherwise. VisitorPagesMiddleware, placed right
after WhiteNoise, keeps the public answers in the process's memory and serves them again before
the rest of the middleware runs: no host lookup, session, CSRF check, query or template.

What it keeps, it keeps only when everything says the page is the same for everyone: a GET on
the public site's host (the tenant the host routed to, so never an organisation's host), from a
visitor with neither a session cookie nor a messages cookie, answered 200 and marked public by
the view, setting no cookie (a used CSRF token sets one), without a CSP nonce, and varying on
nothing but the cookie and the htmx headers that are part of the key. It keeps it for the page's
max-age at most, in a bounded amount of memory, dropping the least recently served first.

Django's cache middleware is not used for this (docs/decisions.md, 14): it keeps any 200 answer
to a GET that is not marked private, on every host, keyed by the whole Cookie header, and does
not know that HX-Boosted and HX-History-Restore-Request choose the pricing page's partial too.
"""

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib.messages import get_messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse
from django.middleware.csp import get_nonce
from django.utils.cache import get_max_age, patch_cache_control, patch_vary_headers
from django.utils.http import split_directive_names, split_header_value

VISITOR_CACHE_SECONDS = 300
# Memory each process gives the kept pages (a marketing page is 12 to 20 KB).
MAX_BYTES = 4_000_000
# The request headers that choose between a whole page and a region of it
# (nexuscore.lib.htmx.is_partial) or may name the region: part of every key.
HTMX_HEADERS = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request", "HX-Target")
# A page may vary on these and still be kept: the cookie (only requests without a session or
# messages cookie are served from here) and the headers in the key.
KEYED_VARY = {"cookie", *(name.lower() for name in HTMX_HEADERS)}


def cache_for_visitors(view):
    """Let any cache keep the page for five minutes, unless it is personal.

    A page is personal when someone is signed in (the header shows their menu) or when it
    carries a one-off message (a toast): then only their browser may keep it, and must check
    it again before reuse. `Vary: Cookie` keeps signed-in and anonymous copies apart.

    The layout leaves the CSRF token out of a page shared this way (`request.page_is_shared`):
    it would set a cookie and hand everyone the same token. Such a page only links and fetches.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        # Counted before the page renders them (which uses them up), without marking them read.
        has_messages = len(get_messages(request)) > 0
        request.page_is_shared = not (request.user.is_authenticated or has_messages)
        response = view(request, *args, **kwargs)
        if request.page_is_shared:
            patch_cache_control(response, public=True, max_age=VISITOR_CACHE_SECONDS)
        else:
            patch_cache_control(response, private=True, no_cache=True)
        patch_vary_headers(response, ["Cookie"])
        return response

    return wrapper


@dataclass(frozen=True)
class KeptPage:
    """A page as the middleware below answered it, and from when until when it may be served."""

    headers: tuple[tuple[str, str], ...]
    content: bytes
    kept_at: float
    expires_at: float

    def response(self, now: float) -> HttpResponse:
        """A response of its own for one request (the outer middleware adds headers to it)."""
        response = HttpResponse(self.content, headers=dict(self.headers))
        response["Age"] = str(int(now - self.kept_at))
        return response


class KeptPages:
    """The pages a process keeps, least recently served first; safe across threads."""

    def __init__(self):
        self._pages: OrderedDict[tuple, KeptPage] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple, now: float) -> KeptPage | None:
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                return None
            if not page.kept_at <= now < page.expires_at:  # expired, or the clock went back
                self._drop(key)
                return None
            self._pages.move_to_end(key)
            return page

    def keep(self, key: tuple, page: KeptPage) -> None:
        with self._lock:
            if key in self._pages:
                self._drop(key)
            self._pages[key] = page
            self._bytes += len(page.content)
            while self._bytes > MAX_BYTES:
                self._drop(next(iter(self._pages)))

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._bytes = 0

    def _drop(self, key: tuple) -> None:
        self._bytes -= len(self._pages.pop(key).content)


_pages = KeptPages()


def forget_pages() -> None:
    _pages.clear()


def is_from_a_visitor(request) -> bool:
    """A GET or HEAD from someone neither signed in nor holding a message (which would be in
    the session or the messages cookie)."""
    cookies = request.COOKIES
    return (
        request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in cookies
        and CookieStorage.cookie_name not in cookies
    )


def page_key(request) -> tuple:
    """What tells one kept page from another: the address as the page sees it (scheme, host,
    path and query) and the htmx headers."""
    htmx = tuple(request.headers.get(name, "") for name in HTMX_HEADERS)
    return (request.scheme, request.get_host(), request.get_full_path(), htmx)


def seconds_to_keep(request, response) -> int:
    """How long `response` may be served to every visitor of this address; 0: not at all."""
    tenant = getattr(request, "tenant", None)  # where the host routed to
    if request.method != "GET" or tenant is None or not tenant.is_public:
        return 0
    if response.status_code != 200 or response.streaming:
        return 0
    directives = set(split_directive_names(response.get("Cache-Control", "")))
    if "public" not in directives or directives & {"private", "no-cache", "no-store"}:
        return 0
    # A cookie set is someone's own, and rendering a CSRF token sets one (CsrfViewMiddleware
    # has already cleared CSRF_COOKIE_NEEDS_UPDATE by the time the response gets here). A CSP
    # nonce must differ on every response.
    if response.cookies or request.META.get("CSRF_COOKIE_NEEDS_UPDATE") or get_nonce(request):
        return 0
    varies = {name.lower() for name in split_header_value(response.get("Vary", ""))}
    if not varies <= KEYED_VARY:
        return 0
    return min(get_max_age(response) or 0, VISITOR_CACHE_SECONDS)


class VisitorPagesMiddleware:
    """Serve the pages `cache_for_visitors` shares from this process's memory (module
    docstring). Goes right after WhiteNoise, so that a kept page skips the rest."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_from_a_visitor(request):
            return self.get_response(request)
        try:
            key = page_key(request)
        except DisallowedHost:
            return self.get_response(request)  # the host routing answers it
        now = time.time()
        page = _pages.get(key, now)
        if page is not None:
            return page.response(now)
        response = self.get_response(request)
        seconds = seconds_to_keep(request, response)
        if seconds > 0:
            now = time.time()
            page = KeptPage(tuple(response.items()), response.content, now, now + seconds)
            _pages.keep(key, page)
        return response

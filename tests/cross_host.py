"""A browser for the Django test client that keeps cookies per host, as a real one does.

The test client has one cookie jar and sends every cookie in it to whatever host a request names.
Our cookies are all host-only (no Domain attribute), so a browser sends a cookie set by
acme.localhost back to acme.localhost only. `Browser` keeps one test client, so one jar, per
host and follows redirects from host to host; a flow that crosses hosts (the hand-over) is then
tested with the cookies a browser would really send. Cookie paths, SameSite and expiry are not
modelled (the test client ignores them); the browser tests cover those.
"""

from urllib.parse import urljoin, urlsplit

from django.test import Client

REDIRECTS = (301, 302, 303, 307, 308)


class Browser:
    def __init__(self, *clients: Client):
        """Start from test clients (from `client_for`, signed in or not), one per host."""
        self.clients = {client.defaults["HTTP_HOST"]: client for client in clients}
        self.visited: list[str] = []  # every address requested, redirects included, in order

    def client(self, host: str) -> Client:
        if host not in self.clients:
            self.clients[host] = Client(HTTP_HOST=host)
        return self.clients[host]

    def cookie(self, host: str, name: str) -> str:
        """The value this browser holds for `name` on `host` ("" if none or deleted)."""
        morsel = self.client(host).cookies.get(name)
        return morsel.value if morsel is not None else ""

    def get(self, url: str, *, follow: bool = True):
        return self._follow(self._send("get", url), url, follow)

    def post(self, url: str, data: dict, *, follow: bool = True):
        return self._follow(self._send("post", url, data), url, follow)

    def _follow(self, response, url, follow):
        while follow and response.status_code in REDIRECTS:
            assert len(self.visited) < 20, f"too many redirects: {self.visited}"
            url = urljoin(url, response["Location"])
            response = self._send("get", url)
        return response

    def _send(self, method, url, data=None):
        parts = urlsplit(url)
        assert parts.scheme == "http" and parts.hostname, f"not an absolute address: {url}"
        self.visited.append(url)
        path = f"{parts.path}?{parts.query}" if parts.query else parts.path
        return getattr(self.client(parts.hostname), method)(path, data)

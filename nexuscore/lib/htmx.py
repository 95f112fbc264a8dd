"""HTMX helpers: messages reach the person as toasts on partial responses too."""

from django.contrib.messages import get_messages
from django.template.loader import render_to_string


class HtmxMessagesMiddleware:
    """Append pending messages to HTMX responses as an out-of-band swap into #toasts.

    Full pages render their messages in the layout; a partial has no layout, so without this a
    message set while answering an HTMX request would wait for the next full page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        htmx = getattr(request, "htmx", None)
        if (
            not htmx
            or htmx.boosted
            or response.streaming
            or 300 <= response.status_code < 400
            or "HX-Redirect" in response
            or not response.get("Content-Type", "").startswith("text/html")
        ):
            return response
        storage = get_messages(request)
        if not list(storage):
            return response
        response.content += render_to_string(
            "includes/toasts.html", {"messages": storage, "oob": True}, request=request
        ).encode()
        return response

"""Structured logs: the request line, the request id, and a task's lines (nexuscore/lib/logs.py).

The lines are read as settings.LOGGING formats them: its JSON formatter and context filter on a
handler that writes to a buffer.
"""

import io
import json
import logging

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.module_loading import import_string

from nexuscore.lib.logs import LogContextFilter, RequestLogMiddleware
from tenants.tasks import enqueue_in_schema
from tests.conftest import client_for


def formatter(name):
    options = dict(settings.LOGGING["formatters"][name])
    factory = import_string(options.pop("()", "logging.Formatter"))
    if "format" in options:
        options["fmt"] = options.pop("format")
    return factory(**options)


@pytest.fixture
def log_lines():
    """What nexuscore's loggers write, one string per line, formatted as in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter("json"))
    handler.addFilter(LogContextFilter())
    logger = logging.getLogger("nexuscore")
    logger.addHandler(handler)
    previous, logger.level = logger.level, logging.INFO
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(previous)


def test_a_request_makes_one_json_line_with_who_and_what(acme, owner, log_lines):
    client = client_for(acme, owner)
    response = client.get("/leads/?q=ann.lim@example.com", HTTP_X_REQUEST_ID="lb-7f3a9c2e-0001")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "lb-7f3a9c2e-0001"

    [line] = [line for line in log_lines() if line["logger"] == "nexuscore.request"]
    assert line["level"] == "INFO"
    assert line["request_id"] == "lb-7f3a9c2e-0001"
    assert line["organisation"] == "acme"
    assert line["user_id"] == str(owner.pk)
    assert (line["method"], line["path"], line["status"]) == ("GET", "/leads/", 200)
    assert line["duration_ms"] > 0
    assert "time" in line
    assert "ann.lim" not in json.dumps(line)  # the query string is never logged


@pytest.mark.parametrize("given", ["short", "has spaces in it ok", "x" * 200, "a\nb-12345678"])
def test_an_odd_request_id_is_replaced_by_a_made_one(acme, given):
    response = client_for(acme).get("/accounts/login/", HTTP_X_REQUEST_ID=given)
    made = response["X-Request-ID"]
    assert made != given
    assert len(made) == 32 and made.isalnum()


def test_each_request_gets_its_own_id(acme):
    client = client_for(acme)
    assert (
        client.get("/accounts/login/")["X-Request-ID"]
        != client.get("/accounts/login/")["X-Request-ID"]
    )


def logs_a_line(lead_count):
    logging.getLogger("nexuscore.leads.tasks").warning("looked at %s leads", lead_count)


def test_a_task_logs_with_its_name_organisation_attempt_and_the_request_that_enqueued_it(
    acme, log_lines
):
    def view(request):
        enqueue_in_schema("acme", "tests.test_logs.logs_a_line", 3)
        return HttpResponse("queued")

    request = RequestFactory().post("/import/", HTTP_X_REQUEST_ID="req-from-the-balancer-1")
    RequestLogMiddleware(view)(request)

    lines = log_lines()
    [inside] = [line for line in lines if line["logger"] == "nexuscore.leads.tasks"]
    assert inside["message"] == "looked at 3 leads"
    assert inside["task"] == "tests.test_logs.logs_a_line"
    assert inside["organisation"] == "acme"
    assert inside["attempt"] == 1
    assert inside["request_id"] == "req-from-the-balancer-1"
    [finished] = [line for line in lines if line["logger"] == "nexuscore.task"]
    assert finished["task"] == "tests.test_logs.logs_a_line"
    assert finished["organisation"] == "acme"
    assert finished["request_id"] == "req-from-the-balancer-1"
    assert finished["success"] is True
    assert finished["duration_ms"] >= 0


def test_development_lines_are_readable(acme, owner):
    record = logging.LogRecord("nexuscore.request", logging.INFO, "", 0, "GET /x/ 200", (), None)
    LogContextFilter().filter(record)
    line = formatter("text").format(record)
    assert line.endswith("INFO nexuscore.request [public] GET /x/ 200")

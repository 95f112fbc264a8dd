"""Idempotency keys for state-changing POSTs that must not run twice (checkout creation, the
public capture form), kept as IdempotencyRecord rows (see the model for why keys are scoped by
schema).

    return run_once(request, key, payload, lambda: do_the_work())

- a new key: the work runs and its answer (2xx or 3xx) is kept until it expires;
- the same key and the same payload again: the kept answer, without running anything;
- the same key with another payload: 409, saying the key was already used for something else;
- the same key while the first request is still running: 409, saying to wait.

An answer of 4xx or 5xx is not kept (the record is removed), so the person may try again with
the same key once whatever was wrong is fixed.
"""

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from nexuscore.billing.models import IdempotencyRecord

TIME_TO_LIVE = timedelta(hours=24)
KEPT_HEADERS = ("Content-Type", "Location", "HX-Redirect", "HX-Refresh", "HX-Location")


def request_hash(method: str, path: str, payload: Mapping) -> str:
    canonical = json.dumps(
        {"method": method, "path": path, "payload": payload}, sort_keys=True, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def scoped_key(request, key: str) -> str:
    schema = getattr(getattr(request, "tenant", None), "schema_name", "public")
    return f"{schema}:{key}"[:255]


def _conflict(request, reason: str, back_url: str) -> HttpResponse:
    context = {"reason": reason, "back_url": back_url}
    return render(request, "billing/idempotency_conflict.html", context, status=409)


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(record.response_body, status=record.response_code)
    for name, value in record.response_headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def run_once(
    request,
    key: str,
    payload: Mapping,
    respond: Callable[[], HttpResponse],
    time_to_live: timedelta = TIME_TO_LIVE,
    back_url: str = "",
) -> HttpResponse:
    """Answer this POST once per key: see the module docstring. `back_url` is where the 409
    page sends the person for a fresh form (the same address by default)."""
    back_url = back_url or request.path
    now = timezone.now()
    key = scoped_key(request, key)
    digest = request_hash(request.method, request.path, payload)
    IdempotencyRecord.objects.filter(key=key, expires_at__lte=now).delete()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                key=key,
                request_path=request.path[:500],
                request_method=request.method,
                request_hash=digest,
                expires_at=now + time_to_live,
            )
    except IntegrityError:
        existing = IdempotencyRecord.objects.filter(key=key).first()
        if existing is None:  # removed a moment ago by its own failed request
            return run_once(request, key.split(":", 1)[1], payload, respond, time_to_live, back_url)
        if existing.request_hash != digest:
            return _conflict(request, "different", back_url)
        if existing.status != IdempotencyRecord.Status.COMPLETED:
            return _conflict(request, "running", back_url)
        return _replay(existing)
    try:
        response = respond()
    except BaseException:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        raise
    if 200 <= response.status_code < 400 and not response.streaming:
        record.status = IdempotencyRecord.Status.COMPLETED
        record.response_code = response.status_code
        record.response_body = response.content.decode(response.charset or "utf-8", "replace")
        record.response_headers = {h: response[h] for h in KEPT_HEADERS if response.has_header(h)}
        record.save()
    else:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
    return response


def delete_expired(now=None) -> int:
    """Remove records past their expiry; returns how many."""
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted

"""Idempotency records: the same key and payload replays the first answer, the same key with
another payload is a 409, keys are scoped per organisation, expired records are cleaned up."""

from datetime import timedelta

from django.utils import timezone
from django_q.models import Schedule
from django_tenants.utils import schema_context

from nexuscore.billing.idempotency import request_hash
from nexuscore.billing.models import IdempotencyRecord
from nexuscore.billing.tasks import delete_expired_idempotency_records
from nexuscore.leads.models import Lead
from tests.conftest import CAPTURE_FORM as FORM
from tests.conftest import client_for


def post(tenant, data=None, **extra):
    return client_for(tenant).post("/f/contact/", {**FORM, **(data or {})}, **extra)


def lead_count(tenant) -> int:
    with schema_context(tenant.schema_name):
        return Lead.objects.count()


def test_the_same_submission_replays_the_first_answer(acme):
    first, second = post(acme), post(acme)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert second["Idempotent-Replayed"] == "true"
    assert lead_count(acme) == 1
    record = IdempotencyRecord.objects.get()
    assert record.key == "acme:capture:" + FORM["submission_key"]
    assert (record.request_method, record.request_path) == ("POST", "/f/contact/")
    assert (record.status, record.response_code) == ("completed", 302)
    assert record.expires_at > timezone.now() + timedelta(hours=23)


def test_the_same_key_with_other_details_is_a_conflict(acme):
    post(acme)
    response = post(acme, {"email": "someone.else@lioncity.sg"})
    assert response.status_code == 409
    page = response.content.decode()
    assert "already sent once, with different details" in page
    assert 'href="/f/contact/"' in page  # a fresh form
    assert lead_count(acme) == 1


def test_a_request_still_running_is_a_conflict_too(acme):
    IdempotencyRecord.objects.create(
        key="acme:capture:" + FORM["submission_key"],
        request_path="/f/contact/",
        request_method="POST",
        request_hash=_hash_of_form(),
        expires_at=timezone.now() + timedelta(hours=1),
    )
    response = post(acme)
    assert response.status_code == 409
    assert "still being processed" in response.content.decode()
    assert lead_count(acme) == 0


def _hash_of_form():
    # What the capture view hashes: the cleaned form, without the key.
    from nexuscore.leads.forms import CaptureSubmissionForm

    form = CaptureSubmissionForm({**FORM})
    assert form.is_valid()
    data = {k: v for k, v in form.cleaned_data.items() if k != "submission_key"}
    return request_hash("POST", "/f/contact/", data)


def test_keys_are_scoped_to_the_organisation(acme, globex):
    assert post(acme).status_code == 302
    assert post(globex).status_code == 302  # the same key on another host is another request
    assert (lead_count(acme), lead_count(globex)) == (1, 1)
    assert sorted(IdempotencyRecord.objects.values_list("key", flat=True)) == [
        "acme:capture:" + FORM["submission_key"],
        "globex:capture:" + FORM["submission_key"],
    ]


def test_refusals_are_not_kept_so_the_same_key_can_try_again(acme):
    for number in range(5):
        post(acme, {"submission_key": f"key-{number:04d}"}, REMOTE_ADDR="203.0.113.9")
    refused = post(acme, {"submission_key": "key-9999"}, REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 429
    assert not IdempotencyRecord.objects.filter(key="acme:capture:key-9999").exists()


def test_expired_records_are_deleted_by_the_daily_task(acme):
    post(acme)
    post(acme, {"submission_key": "another-key-123", "email": "b@lioncity.sg"})
    IdempotencyRecord.objects.filter(key__endswith="another-key-123").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert delete_expired_idempotency_records() == 1
    assert IdempotencyRecord.objects.count() == 1
    schedule = Schedule.objects.get(name="delete expired idempotency records")
    assert (schedule.func, schedule.schedule_type) == (
        "nexuscore.billing.tasks.delete_expired_idempotency_records",
        Schedule.DAILY,
    )
    assert Schedule.objects.filter(
        func="nexuscore.billing.tasks.enforce_grace_periods", schedule_type=Schedule.HOURLY
    ).exists()


def test_an_expired_key_works_as_a_new_one(acme):
    post(acme)
    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = post(acme, {"email": "someone.else@lioncity.sg"})
    # No conflict any more; the lead's own submission key still makes it one lead.
    assert response.status_code == 302
    assert lead_count(acme) == 1

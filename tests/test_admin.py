"""The staff admin lives on the public host and lets only staff with two-factor in; events are
read-only. More on two-factor and the admin's sign-in in test_security.py."""

from nexuscore.audit.models import Event
from tests.conftest import client_for


def test_staff_enter_the_admin(staff_with_mfa):
    response = client_for(None, staff_with_mfa).get("/admin/")
    assert response.status_code == 200
    assert b"NexusCore staff admin" in response.content


def test_non_staff_are_sent_to_the_admin_sign_in(owner):
    response = client_for(None, owner).get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_anonymous_are_sent_to_the_admin_sign_in(db):
    assert client_for(None).get("/admin/").status_code == 302


def test_staff_see_tenants_users_memberships_and_events(staff_with_mfa):
    client = client_for(None, staff_with_mfa)
    for path in (
        "tenants/tenant/",
        "tenants/domain/",
        "accounts/user/",
        "tenants/membership/",
        "audit/event/",
    ):
        assert client.get(f"/admin/{path}").status_code == 200, path


def test_events_are_read_only_in_the_admin(staff_with_mfa):
    client = client_for(None, staff_with_mfa)
    event = Event.objects.first()
    assert client.get("/admin/audit/event/add/").status_code == 403
    assert client.post(f"/admin/audit/event/{event.pk}/delete/").status_code == 403
    page = client.get(f"/admin/audit/event/{event.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content

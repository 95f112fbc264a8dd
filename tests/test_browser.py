"""A person in a real browser: sign in on the public site, open an organisation, stay out of
others. Drives Debian's Chromium through Playwright against gunicorn serving the test database.
"""

import pytest

from tests.browser import ARTIFACTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_sign_in_open_an_organisation_and_stay_out_of_another(site, browser):
    page = browser.new_page()
    page.goto(f"http://localhost:{site}/accounts/login/")
    sign_in(page, "owner@acme.test")
    page.wait_for_url(f"http://localhost:{site}/accounts/organisations/")
    page.screenshot(path=ARTIFACTS / "organisations.png", full_page=True)

    page.get_by_role("link", name="Open Acme Trading").click()
    page.wait_for_url(f"http://acme.localhost:{site}/")
    assert "Acme Trading" in page.content()
    assert "Alice Tan" in page.content()
    page.screenshot(path=ARTIFACTS / "acme-dashboard.png", full_page=True)

    # Cookies are host-only: globex knows nobody, and its host signs in only its members: a
    # right password of someone else's is answered as a wrong one.
    page.goto(f"http://globex.localhost:{site}/")
    assert "/accounts/login/" in page.url
    sign_in(page, "owner@acme.test")
    page.wait_for_load_state()
    assert "/accounts/login/" in page.url
    assert "password you specified are not correct" in page.content()
    page.screenshot(path=ARTIFACTS / "globex-refused.png", full_page=True)

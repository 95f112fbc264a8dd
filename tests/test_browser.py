"""A person in a real browser: sign in on the public site, open an organisation, stay out of
others. Drives Debian's Chromium through Playwright against gunicorn serving the test database.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "nexuscore-demo"

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port}")


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    """gunicorn on a free port, using the (already seeded) test database."""
    db = connection.settings_dict
    url = f"postgresql://{db['USER']}:{db['PASSWORD']}@/{db['NAME']}?host={db['HOST']}"
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_DEBUG": "0"}
    gunicorn = Path(sys.executable).parent / "gunicorn"
    server = subprocess.Popen(
        [str(gunicorn), "nexuscore.wsgi", "-w", "1", "-b", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


def _sign_in(page, email):
    page.fill('input[name="login"]', email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('form button[type="submit"]')


def test_sign_in_open_an_organisation_and_stay_out_of_another(site, browser):
    page = browser.new_page()
    page.goto(f"http://localhost:{site}/accounts/login/")
    _sign_in(page, "owner@acme.test")
    page.wait_for_url(f"http://localhost:{site}/accounts/organisations/")
    page.screenshot(path=ARTIFACTS / "organisations.png", full_page=True)

    page.click('a[href="/accounts/organisations/acme/open/"]')
    page.wait_for_url(f"http://acme.localhost:{site}/")
    assert "Acme Trading" in page.content()
    assert "Alice Tan" in page.content()
    page.screenshot(path=ARTIFACTS / "acme-dashboard.png", full_page=True)

    # Cookies are host-only: globex knows nobody, and a signed-in outsider is refused.
    page.goto(f"http://globex.localhost:{site}/")
    assert "/accounts/login/" in page.url
    _sign_in(page, "owner@acme.test")
    page.wait_for_load_state()
    assert "not a member" in page.content()
    page.screenshot(path=ARTIFACTS / "globex-refused.png", full_page=True)

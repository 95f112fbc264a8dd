"""What the browser tests share: gunicorn serving the test database, and Debian's Chromium
driven by Playwright (never a downloaded browser).

gunicorn runs in another process, so it sees only committed rows: the session-wide demo data,
plus whatever a test commits itself (and removes afterwards).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"  # screenshots, kept by CI
PASSWORD = "nexuscore-demo"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port}")


@contextmanager
def serve_test_database(*options, **extra_env):
    """gunicorn on a free port using the test database; yields the port. `options` are further
    gunicorn arguments, given after ours (so "-w", "2" overrides the single worker)."""
    db = connection.settings_dict
    url = f"postgresql://{db['USER']}:{db['PASSWORD']}@/{db['NAME']}?host={db['HOST']}"
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_DEBUG": "0", **extra_env}
    gunicorn = Path(sys.executable).parent / "gunicorn"
    server = subprocess.Popen(
        [str(gunicorn), "nexuscore.wsgi", "-w", "1", "-b", f"127.0.0.1:{port}", *options],
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


@pytest.fixture(scope="module")
def site(django_db_setup):
    """The site on the test database, for a module's browser tests; yields the port."""
    with serve_test_database() as port:
        yield port


@pytest.fixture
def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS
        )
        yield chromium
        chromium.close()


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    page.fill('input[name="login"]', email)
    page.fill('input[name="password"]', password)
    page.click('form button[type="submit"]')

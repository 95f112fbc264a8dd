"""Local mail lands in the outbox; production settings pass Django's deploy checks."""

import os
import subprocess
import sys
from email import message_from_bytes
from pathlib import Path

from django.core.mail import EmailMessage
from django.db import connection

from nexuscore.lib.mail import OutboxEmailBackend

ROOT = Path(__file__).resolve().parent.parent


def test_outbox_backend_writes_one_file_per_message(settings, tmp_path, capsys):
    settings.EMAIL_OUTBOX_DIR = tmp_path
    messages = [
        EmailMessage("Verify your email", f"Hello {n}", "hello@nexuscore.test", [f"p{n}@acme.test"])
        for n in range(2)
    ]
    assert OutboxEmailBackend().send_messages(messages) == 2
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2
    parsed = message_from_bytes(files[0].read_bytes())
    assert parsed["Subject"] == "Verify your email"
    assert "Verify your email" in capsys.readouterr().out


def test_production_settings_pass_check_deploy(db):
    # Some model checks (generated columns) ask the database for its version: use the real one.
    database = connection.settings_dict
    url = f"postgresql://{database['USER']}:@/{database['NAME']}?host={database['HOST']}"
    env = {
        **os.environ,
        "NEXUSCORE_ENV": "production",
        "SECRET_KEY": "a-long-random-production-secret-key-" + "x" * 40,
        "DATABASE_URL": url,
        "NEXUSCORE_BASE_DOMAIN": "nexuscore.sg",
        "EMAIL_BACKEND": "anymail.backends.sendgrid.EmailBackend",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout

"""Local mail: every message goes to .data/outbox/ (one .eml file each) and to the console.

Tests and people read the outbox to follow verification and reset links. Production sets
EMAIL_BACKEND to a django-anymail backend instead.
"""

import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.utils import timezone


class OutboxEmailBackend(ConsoleBackend):
    def send_messages(self, email_messages):
        outbox = Path(settings.EMAIL_OUTBOX_DIR)
        outbox.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
            path = outbox / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            path.write_bytes(message.message().as_bytes())
        return super().send_messages(email_messages)

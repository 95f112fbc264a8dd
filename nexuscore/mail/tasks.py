"""The outbox's recurring work (the functions are in outbox.py): every minute, unsent mail that
is due (a retry, or a message whose task was lost) is handed out again; daily, mail sent or
given up long ago is deleted."""

from nexuscore.lib.schedules import Recurring

SCHEDULES = [
    Recurring("outbox: send unsent mail", "nexuscore.mail.outbox.send_unsent", minutes=1),
    Recurring("outbox: delete old mail", "nexuscore.mail.outbox.delete_old_mail", daily_at=4),
]

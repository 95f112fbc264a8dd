"""Mail: the outbox. A message that a change decides to send is stored in the same transaction
as the change and sent by a task after it commits, at most once per dedupe key (outbox.py).

Shared app (public schema): the worker and its schedule find every unsent message in one table
without visiting each organisation's schema, and staff see stuck mail in one list. Each message
names the schema it was queued for (`schema_name`), so whose mail it is stays on record.
"""

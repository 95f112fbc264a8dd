"""Audit events stay append-only, with one sanctioned exception: redacting personal data.

A PDPA deletion request (or the retention rule) must remove a person's details from the text of
the events about them, and the trigger of 0002 refuses every UPDATE. The function now lets an
UPDATE through only when the transaction has said `SET LOCAL nexuscore.redacting = 'on'` (which
only `nexuscore.audit.models.redact_events()` does) and only the `data` column changes: the
event's type, actor, organisation and time stay as they were. DELETE is still refused.

Like 0002 it runs in the public schema and in every organisation's schema.
"""

from django.db import migrations

REDACTABLE = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND current_setting('nexuscore.redacting', true) = 'on'
       AND NEW.id = OLD.id
       AND NEW.event_type = OLD.event_type
       AND NEW.created_at = OLD.created_at
       AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
       AND NEW.tenant_id IS NOT DISTINCT FROM OLD.tenant_id THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [migrations.RunSQL(REDACTABLE, APPEND_ONLY)]

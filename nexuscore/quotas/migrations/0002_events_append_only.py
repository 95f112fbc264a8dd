"""Usage events may be added, never changed or removed: a trigger refuses UPDATE and DELETE."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION quotas_usage_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'usage events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER quotas_usage_event_append_only
    BEFORE UPDATE OR DELETE ON quotas_usageevent
    FOR EACH ROW EXECUTE FUNCTION quotas_usage_event_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS quotas_usage_event_append_only ON quotas_usageevent;
DROP FUNCTION IF EXISTS quotas_usage_event_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("quotas", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, DROP)]

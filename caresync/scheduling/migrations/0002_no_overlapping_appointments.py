"""Double booking is impossible in PostgreSQL: exclusion constraints over the time ranges of
blocking appointments per practitioner, per patient, and per resource.

SQLite has no exclusion constraints; there, write transactions are serialized
(``BEGIN IMMEDIATE``) and the booking service checks for overlaps inside them.
"""

from django.db import migrations

BLOCKING = "('requested', 'proposed', 'scheduled', 'confirmed', 'checked_in', 'in_progress')"
PG_FORWARD = f"""
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE scheduling_appointment ADD CONSTRAINT appointment_no_practitioner_overlap
    EXCLUDE USING gist (practitioner_id WITH =, tstzrange(start, "end", '[)') WITH &&)
    WHERE (status IN {BLOCKING});
ALTER TABLE scheduling_appointment ADD CONSTRAINT appointment_no_patient_overlap
    EXCLUDE USING gist (patient_id WITH =, tstzrange(start, "end", '[)') WITH &&)
    WHERE (status IN {BLOCKING});
ALTER TABLE scheduling_appointmentresource ADD CONSTRAINT appointment_no_resource_overlap
    EXCLUDE USING gist (resource_id WITH =, tstzrange(start, "end", '[)') WITH &&)
    WHERE (blocking);
"""
PG_REVERSE = """
ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS appointment_no_practitioner_overlap;
ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS appointment_no_patient_overlap;
ALTER TABLE scheduling_appointmentresource
    DROP CONSTRAINT IF EXISTS appointment_no_resource_overlap;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]
    operations = [migrations.RunPython(forward, reverse)]

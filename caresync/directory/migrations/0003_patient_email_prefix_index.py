"""PostgreSQL: a pattern-ops index so email prefix search (LIKE 'ab%') uses an index under
any database collation."""

from django.db import migrations

PG_FORWARD = """
CREATE INDEX IF NOT EXISTS directory_patient_email_prefix
    ON directory_patient (organization_id, email varchar_pattern_ops);
"""
PG_REVERSE = "DROP INDEX IF EXISTS directory_patient_email_prefix;"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("directory", "0002_patient_trigram_search")]
    operations = [migrations.RunPython(forward, reverse)]

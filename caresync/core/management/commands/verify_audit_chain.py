from django.core.management.base import BaseCommand, CommandError

from caresync.core.audit import audit_chain_breaks
from caresync.core.models import AuditEvent


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; exit non-zero naming the first bad row."

    def handle(self, *args, **options):
        first = next(audit_chain_breaks(), None)
        if first is not None:
            raise CommandError(f"Audit chain broken at event #{first.event_id}: {first.reason}.")
        total = AuditEvent.objects.count()
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {total} events verified."))

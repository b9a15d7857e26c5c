from celery import shared_task

from caresync.records.services import attachment_orphans_delete


@shared_task(name="caresync.records.tasks.sweep_orphan_attachments", ignore_result=True)
def sweep_orphan_attachments() -> int:
    """Periodic: delete stored attachment files whose upload's transaction rolled back."""
    return attachment_orphans_delete()

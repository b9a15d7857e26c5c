from celery import shared_task

from caresync.core.services import heartbeat_record


@shared_task(name="caresync.core.tasks.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Periodic proof that beat schedules and a worker executes."""
    heartbeat_record(name="beat")

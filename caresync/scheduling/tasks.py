from celery import shared_task

from caresync.scheduling.services import appointment_requests_expire


@shared_task(name="caresync.scheduling.tasks.expire_requests", ignore_result=True)
def expire_requests() -> None:
    """Periodic: cancel appointment requests whose hold lapsed without approval."""
    appointment_requests_expire()

"""Celery wrappers: load by id, call the service. Retries are the services' own (the
rows carry their schedule), so tasks never retry themselves."""

from celery import shared_task

from caresync.notifications.delivery import notification_deliver, notifications_deliver_due
from caresync.notifications.outbox import outbox_dispatch


@shared_task(name="caresync.notifications.tasks.deliver_notification", ignore_result=True)
def deliver_notification(notification_id: int) -> None:
    """Deliver one notification (queued on commit of the change it tells about)."""
    notification_deliver(notification_id=notification_id)


@shared_task(name="caresync.notifications.tasks.sweep_notifications", ignore_result=True)
def sweep_notifications() -> None:
    """Periodic: relay events a lost task left behind, then deliver due retries and
    anything else a lost task left behind."""
    outbox_dispatch()
    while notifications_deliver_due(limit=200) == 200:
        pass


@shared_task(name="caresync.notifications.tasks.send_due_reminders", ignore_result=True)
def send_due_reminders() -> None:
    """Periodic: arm reminders of upcoming appointments and send those that are due."""
    from caresync.notifications.reminders import reminders_send_due

    reminders_send_due()


@shared_task(name="caresync.notifications.tasks.dispatch_outbox", ignore_result=True)
def dispatch_outbox() -> None:
    """Relay committed outbox events to reminders and notifications (queued on commit)."""
    outbox_dispatch()

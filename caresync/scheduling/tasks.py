from datetime import datetime

from celery import shared_task
from django.db import OperationalError

from caresync.scheduling.services import (
    appointment_requests_expire,
    waitlist_offer_freed_slot,
    waitlist_offers_expire,
)


@shared_task(name="caresync.scheduling.tasks.expire_requests", ignore_result=True)
def expire_requests() -> None:
    """Periodic: cancel appointment requests whose hold lapsed without approval."""
    appointment_requests_expire()


@shared_task(
    name="caresync.scheduling.tasks.waitlist_slot_freed",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def waitlist_slot_freed(practitioner_id: int, start: str, end: str) -> None:
    """After a cancellation or a move: offer the freed time to the waitlist."""
    waitlist_offer_freed_slot(
        practitioner_id=practitioner_id,
        start=datetime.fromisoformat(start),
        end=datetime.fromisoformat(end),
    )


@shared_task(name="caresync.scheduling.tasks.expire_waitlist_offers", ignore_result=True)
def expire_waitlist_offers() -> None:
    """Periodic: expire lapsed waitlist offers and offer their time to the next in line."""
    waitlist_offers_expire()

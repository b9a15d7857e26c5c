"""Scheduling writes. Every interface books and changes appointments through these."""

from caresync.scheduling.services.availability import (
    availability_exception_delete,
    availability_exception_save,
    availability_rule_delete,
    availability_rule_save,
    availability_rules_create,
    closure_delete,
    closure_save,
)
from caresync.scheduling.services.booking import (
    PROPOSABLE,
    RESCHEDULABLE,
    TRANSITIONS,
    appointment_book,
    appointment_requests_expire,
    appointment_reschedule,
    appointment_transition,
    appointment_update,
    slot_alternatives,
    slots_search,
)
from caresync.scheduling.services.feeds import (
    calendar_feed_create,
    calendar_feed_record_use,
    calendar_feed_revoke,
)
from caresync.scheduling.services.idempotency import idempotent
from caresync.scheduling.services.series import (
    appointment_series_book,
    appointment_series_cancel,
    appointment_series_preview,
    appointment_series_reschedule,
)
from caresync.scheduling.services.waitlist import (
    waitlist_join,
    waitlist_leave,
    waitlist_offer_claim,
    waitlist_offer_freed_slot,
    waitlist_offers_expire,
)

__all__ = [
    "PROPOSABLE",
    "RESCHEDULABLE",
    "TRANSITIONS",
    "appointment_book",
    "appointment_requests_expire",
    "appointment_reschedule",
    "appointment_series_book",
    "appointment_series_cancel",
    "appointment_series_preview",
    "appointment_series_reschedule",
    "appointment_transition",
    "appointment_update",
    "availability_exception_delete",
    "availability_exception_save",
    "availability_rule_delete",
    "availability_rule_save",
    "availability_rules_create",
    "calendar_feed_create",
    "calendar_feed_record_use",
    "calendar_feed_revoke",
    "closure_delete",
    "closure_save",
    "idempotent",
    "slot_alternatives",
    "slots_search",
    "waitlist_join",
    "waitlist_leave",
    "waitlist_offer_claim",
    "waitlist_offer_freed_slot",
    "waitlist_offers_expire",
]

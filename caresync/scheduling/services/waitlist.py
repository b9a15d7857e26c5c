"""The waitlist: patients wait for a service (optionally a practitioner, a date range and
times of day). When booked time frees up, the first waiting patients it suits are offered
it through a signed claim link that expires; the first claim books it through
``appointment_book`` and withdraws the other offers for that time.

Offers do not hold time: anyone may still book it the usual way, and a claim of a time
that has gone is refused (its offer withdrawn). Every change writes an audit row and an
outbox event (``waitlist.*``, identifiers only) in its transaction.
"""

from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from caresync.accounts.models import Organization, User
from caresync.core.audit import audit_record
from caresync.core.errors import ApplicationError
from caresync.directory.models import Patient, Practitioner, Service
from caresync.notifications.outbox import domain_event_record
from caresync.notifications.realtime import user_event_send
from caresync.scheduling.models import Appointment, WaitlistEntry, WaitlistOffer
from caresync.scheduling.selectors import practitioner_time_zone
from caresync.scheduling.services.booking import appointment_book, slots_search
from caresync.scheduling.slots import Interval, Slot, merge
from caresync.scheduling.waitlist_selectors import (
    waitlist_offer_id_from_token,
    waitlist_offer_url,
)

E = WaitlistEntry.Status
O = WaitlistOffer.Status  # noqa: E741 - mirrors ``S`` for appointment statuses
ACTIVE = (E.WAITING, E.OFFERED)
DAY_PARTS = tuple(WaitlistEntry.DayPart.values)
# Booking refusals that mean "this time cannot be booked for this patient any more".
GONE = frozenset({"slot_unavailable", "outside_availability", "too_soon", "too_far"})


def day_part(local: datetime) -> str:
    """``morning`` before 12:00, ``afternoon`` until 17:00, ``evening`` after (local time)."""
    if local.hour < 12:
        return WaitlistEntry.DayPart.MORNING
    if local.hour < 17:
        return WaitlistEntry.DayPart.AFTERNOON
    return WaitlistEntry.DayPart.EVENING


def _field_error(field: str, code: str, message: str) -> ApplicationError:
    return ApplicationError(
        message, code=code, fields={field: [{"code": code, "message": message}]}
    )


def _entry_event(
    entry: WaitlistEntry, *, kind: str, actor: User | None, action: str, **details
) -> None:
    """Audit row and outbox event for a change of ``entry``, in the caller's transaction."""
    audit_record(
        actor=actor,
        action=action,
        organization=entry.organization,
        obj=entry,
        patient_id=entry.patient_id,
        details={"status": entry.status, **details},
    )
    domain_event_record(
        kind=kind,
        subject=entry,
        organization=entry.organization,
        actor=actor,
        payload={
            "entry": entry.pk,
            "patient": entry.patient_id,
            "service": entry.service_id,
            "practitioner": entry.practitioner_id,
            "status": entry.status,
            **details,
        },
    )


def _offer_payload(offer: WaitlistOffer) -> dict:
    return {
        "entry": offer.entry_id,
        "offer": offer.pk,
        "patient": offer.entry.patient_id,
        "service": offer.entry.service_id,
        "practitioner": offer.practitioner_id,
        "start": offer.start.isoformat(),
        "end": offer.end.isoformat(),
        "expires_at": offer.expires_at.isoformat(),
    }


def _offer_event(offer: WaitlistOffer, *, kind: str, actor: User | None = None, **extra) -> None:
    domain_event_record(
        kind=kind,
        subject=offer,
        organization=offer.entry.organization,
        actor=actor,
        payload={**_offer_payload(offer), **extra},
    )


def offer_time_later(*, practitioner_id: int, start: datetime, end: datetime) -> None:
    """After commit, offer ``start``–``end`` with the practitioner to the waitlist (a Celery
    task: a worker in production), if anyone in their organization is waiting. A broker
    failure never undoes the caller's change."""
    from caresync.scheduling.tasks import waitlist_slot_freed  # tasks import the services

    organization = Practitioner.objects.filter(pk=practitioner_id).values("organization_id")
    if not WaitlistEntry.objects.filter(
        organization_id=organization[:1], status=E.WAITING
    ).exists():
        return
    transaction.on_commit(
        partial(waitlist_slot_freed.delay, practitioner_id, start.isoformat(), end.isoformat()),
        robust=True,
    )


# --- Joining and leaving -----------------------------------------------------------------


@transaction.atomic
def waitlist_join(
    *,
    actor: User | None,
    organization: Organization,
    patient: Patient,
    service: Service,
    practitioner: Practitioner | None = None,
    earliest_date: date | None = None,
    latest_date: date | None = None,
    preferred_times=(),
    notes: str = "",
    now: datetime | None = None,
) -> WaitlistEntry:
    """Put ``patient`` on the waitlist for ``service`` (with ``practitioner``, or anyone
    offering it), between two dates and at times of day (empty: any). One active entry per
    patient and service: a second is refused with 409 ``already_waiting``."""
    now = now or timezone.now()
    if service.organization_id != organization.pk or not service.is_active:
        raise ApplicationError("Service not found.", code="not_found", status_code=404)
    if patient.organization_id != organization.pk or not patient.is_active:
        raise ApplicationError("Patient not found.", code="not_found", status_code=404)
    if practitioner is not None:
        if practitioner.organization_id != organization.pk or not practitioner.is_active:
            raise ApplicationError("Practitioner not found.", code="not_found", status_code=404)
        if not service.practitioners.filter(pk=practitioner.pk).exists():
            raise _field_error(
                "practitioner", "practitioner_not_offering", "Does not offer this service."
            )
    elif not service.practitioners.filter(is_active=True).exists():
        raise _field_error("service", "not_offered", "Nobody offers this service at the moment.")
    today = timezone.localdate(now, timezone=ZoneInfo(organization.time_zone or "UTC"))
    if latest_date is not None and latest_date < today:
        raise _field_error("latest_date", "in_past", "Choose today or a later date.")
    if earliest_date is not None and latest_date is not None and latest_date < earliest_date:
        raise _field_error("latest_date", "invalid_range", "Must be on or after the first date.")
    horizon = today + timedelta(days=service.booking_horizon_days)
    if earliest_date is not None and earliest_date > horizon:
        raise _field_error(
            "earliest_date",
            "too_far",
            f"This service is booked at most {service.booking_horizon_days} days ahead.",
        )
    parts = list(preferred_times or ())
    unknown = [part for part in parts if part not in DAY_PARTS]
    if unknown:
        raise _field_error(
            "preferred_times", "invalid_choice", "Choose from morning, afternoon and evening."
        )
    notes = (notes or "").strip()
    if len(notes) > 500:
        raise _field_error("notes", "max_length", "At most 500 characters.")
    # Serializes joins of one patient, so two concurrent requests cannot both pass the check.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    existing = WaitlistEntry.objects.filter(
        patient=patient, service=service, status__in=ACTIVE
    ).first()
    if existing is not None:
        raise ApplicationError(
            "This patient is already on the waitlist for this service.",
            code="already_waiting",
            status_code=409,
            extra={"entry": existing.pk},
        )
    entry = WaitlistEntry.objects.create(
        organization=organization,
        patient=patient,
        service=service,
        practitioner=practitioner,
        earliest_date=earliest_date,
        latest_date=latest_date,
        preferred_times=[part for part in DAY_PARTS if part in parts],
        notes=notes,
        created_by=actor,
    )
    _entry_event(entry, kind="waitlist.joined", actor=actor, action="create")
    return entry


def _reopen(entries, *, keep: set[int] = frozenset()) -> None:
    """Offered entries without another open offer wait again (``keep``: already handled)."""
    for entry in entries:
        if entry.pk in keep or entry.status != E.OFFERED:
            continue
        if not entry.offers.filter(status=O.OPEN).exists():
            entry.status = E.WAITING
            entry.save(update_fields=["status"])
            audit_record(
                actor=None,
                action="update",
                organization=entry.organization,
                obj=entry,
                patient_id=entry.patient_id,
                details={"status": entry.status},
            )


@transaction.atomic
def waitlist_leave(*, actor: User | None, entry: WaitlistEntry, reason: str = "") -> WaitlistEntry:
    """Take an entry off the waitlist; its open offers are withdrawn and go to the next in
    line. Leaving twice is refused with 409 ``not_waiting``."""
    entry = (
        WaitlistEntry.objects.select_for_update(of=("self",))
        .select_related("organization", "patient", "service")
        .get(pk=entry.pk)
    )
    if entry.status not in ACTIVE:
        raise ApplicationError(
            "This entry is no longer on the waitlist.", code="not_waiting", status_code=409
        )
    previous = entry.status
    entry.status = E.CANCELLED
    entry.save(update_fields=["status"])
    for offer in entry.offers.filter(status=O.OPEN).select_related("entry__organization"):
        offer.status = O.WITHDRAWN
        offer.save(update_fields=["status"])
        _offer_event(offer, kind="waitlist.offer_withdrawn", actor=actor, reason="left_waitlist")
        offer_time_later(practitioner_id=offer.practitioner_id, start=offer.start, end=offer.end)
    _entry_event(
        entry,
        kind="waitlist.left",
        actor=actor,
        action="update",
        **{"from": previous, "reason": reason.strip()[:500]},
    )
    return entry


# --- Offering freed time -----------------------------------------------------------------


def _free_slots(practitioner: Practitioner, service: Service, window: Interval, now) -> list:
    """The practitioner's free slots of ``service`` lying wholly inside ``window``."""
    if window.end - window.start < timedelta(minutes=service.duration_minutes):
        return []
    found = slots_search(
        organization=practitioner.organization,
        service=service,
        window=window,
        practitioner_ids=[practitioner.pk],
        now=now,
    )
    return sorted(s for s in found if window.start <= s.start and s.end <= window.end)


def _suits(entry: WaitlistEntry, slot: Slot, zone: ZoneInfo) -> bool:
    local = slot.start.astimezone(zone)
    if entry.earliest_date and local.date() < entry.earliest_date:
        return False
    if entry.latest_date and local.date() > entry.latest_date:
        return False
    return not entry.preferred_times or day_part(local) in entry.preferred_times


def _patient_busy(patient_id: int, slot: Slot) -> bool:
    return Appointment.objects.filter(
        patient_id=patient_id,
        status__in=Appointment.BLOCKING,
        start__lt=slot.end,
        end__gt=slot.start,
    ).exists()


@transaction.atomic
def waitlist_offer_freed_slot(
    *,
    practitioner_id: int,
    start: datetime,
    end: datetime,
    service_id: int | None = None,
    now: datetime | None = None,
) -> list[WaitlistOffer]:
    """Offer time that stopped being booked (``start``–``end`` with the practitioner) to
    waiting entries in the order they joined: same organization; the entry's service is
    offered by the practitioner (``service_id``: only that one) and fits; the entry names
    no practitioner or this one; the time is in its date range and day parts (in the
    practitioner's zone); the patient is free then and did not let this time lapse before.
    Each gets the earliest free slot of its service in the window, while it is bookable,
    until ``WAITLIST_OFFER_BATCH`` offers for that time are open; an offer lasts
    ``WAITLIST_OFFER_MINUTES``, or until the service's notice before the start if sooner.
    Returns the new offers."""
    now = now or timezone.now()
    practitioner = (
        Practitioner.objects.select_related("organization")
        .filter(pk=practitioner_id, is_active=True)
        .first()
    )
    if practitioner is None or end <= max(start, now):
        return []
    window = Interval(max(start, now), end)
    overlapping = Q(practitioner=practitioner, start__lt=window.end, end__gt=window.start)
    room = (
        settings.WAITLIST_OFFER_BATCH
        - WaitlistOffer.objects.filter(overlapping, status=O.OPEN, expires_at__gt=now).count()
    )
    if room <= 0:
        return []
    offered_services = Service.objects.filter(practitioners=practitioner, is_active=True)
    if service_id is not None:
        offered_services = offered_services.filter(pk=service_id)
    lapsed = WaitlistOffer.objects.filter(overlapping, status=O.EXPIRED).values("entry_id")
    entries = (
        WaitlistEntry.objects.select_for_update(of=("self",))
        .filter(
            organization_id=practitioner.organization_id,
            status=E.WAITING,
            service__in=offered_services,
            patient__is_active=True,
        )
        .filter(Q(practitioner__isnull=True) | Q(practitioner=practitioner))
        .exclude(pk__in=lapsed)
        .select_related("organization", "patient", "service")
        .order_by("created_at", "pk")
    )
    zone = ZoneInfo(practitioner_time_zone(practitioner))
    expires_at = now + timedelta(minutes=settings.WAITLIST_OFFER_MINUTES)
    free: dict[int, list] = {}
    offers: list[WaitlistOffer] = []
    patients: set[int] = set()
    for entry in entries:
        if len(offers) >= room:
            break
        if entry.patient_id in patients:
            continue
        if entry.service_id not in free:
            free[entry.service_id] = _free_slots(practitioner, entry.service, window, now)
        slot = next(
            (
                s
                for s in free[entry.service_id]
                if _suits(entry, s, zone) and not _patient_busy(entry.patient_id, s)
            ),
            None,
        )
        if slot is None:
            continue
        # A time soon to start can be claimed only while it is still bookable.
        notice = timedelta(minutes=entry.service.min_notice_minutes)
        offer = WaitlistOffer.objects.create(
            entry=entry,
            practitioner=practitioner,
            start=slot.start,
            end=slot.end,
            expires_at=min(expires_at, slot.start - notice),
        )
        entry.status = E.OFFERED
        entry.save(update_fields=["status"])
        audit_record(
            actor=None,
            action="update",
            organization=entry.organization,
            obj=entry,
            patient_id=entry.patient_id,
            details={"status": entry.status, "offer": offer.pk},
        )
        _offer_event(offer, kind="waitlist.offered")
        if entry.patient.user_id:
            user_event_send(
                user_ids=[entry.patient.user_id],
                payload={
                    "type": "waitlist.offered",
                    "offer": offer.pk,
                    "start": offer.start.isoformat(),
                    "expires_at": offer.expires_at.isoformat(),
                    "url": waitlist_offer_url(offer),
                },
            )
        offers.append(offer)
        patients.add(entry.patient_id)
    return offers


# --- Claiming ----------------------------------------------------------------------------


def _offer_id(token_or_offer) -> int:
    if isinstance(token_or_offer, WaitlistOffer):
        return token_or_offer.pk
    offer_id = waitlist_offer_id_from_token(str(token_or_offer or ""))
    if offer_id is None:
        raise ApplicationError("This link is not valid.", code="not_found", status_code=404)
    return offer_id


def _refuse_unclaimable(offer: WaitlistOffer, now: datetime) -> None:
    if offer.status == O.CLAIMED:
        raise ApplicationError(
            "This time is already booked for you.",
            code="offer_claimed",
            status_code=409,
            extra={"appointment": offer.appointment_id},
        )
    if offer.status == O.EXPIRED or (offer.status == O.OPEN and offer.expires_at <= now):
        raise ApplicationError(
            "Sorry, this offer has expired. You are still on the waitlist.",
            code="offer_expired",
            status_code=410,
        )
    if offer.status != O.OPEN or offer.entry.status != E.OFFERED:
        raise ApplicationError(
            "Sorry, this time is no longer available: someone else booked it first.",
            code="offer_taken",
            status_code=409,
        )


@transaction.atomic
def _claim(offer_id: int, *, actor: User | None, now: datetime) -> Appointment:
    found = WaitlistOffer.objects.filter(pk=offer_id).values("practitioner_id", "start", "end")
    if not found:
        raise ApplicationError("This link is not valid.", code="not_found", status_code=404)
    slot = found[0]
    # Every offer of this time, locked in one order: concurrent claims queue here, the first
    # books and withdraws the rest, the others then see theirs withdrawn.
    siblings = {
        offer.pk: offer
        for offer in WaitlistOffer.objects.select_for_update(of=("self",))
        .filter(
            practitioner_id=slot["practitioner_id"], start__lt=slot["end"], end__gt=slot["start"]
        )
        .select_related("entry__organization", "entry__patient", "entry__service", "practitioner")
        .order_by("pk")
    }
    offer = siblings.pop(offer_id)
    _refuse_unclaimable(offer, now)
    entry = offer.entry
    appointment = appointment_book(
        actor=actor,
        organization=entry.organization,
        patient=entry.patient,
        service=entry.service,
        start=offer.start,
        practitioner=offer.practitioner,
        reason="Booked from the waitlist.",
        now=now,
    )
    offer.status, offer.claimed_at, offer.appointment = O.CLAIMED, now, appointment
    offer.save(update_fields=["status", "claimed_at", "appointment"])
    entry.status, entry.appointment = E.BOOKED, appointment
    entry.save(update_fields=["status", "appointment"])
    _entry_event(
        entry,
        kind="waitlist.booked",
        actor=actor,
        action="update",
        offer=offer.pk,
        appointment=appointment.pk,
    )
    _offer_event(offer, kind="waitlist.claimed", actor=actor, appointment=appointment.pk)
    withdrawn = [s for s in siblings.values() if s.status == O.OPEN]
    for sibling in withdrawn:
        sibling.status = O.WITHDRAWN
        sibling.save(update_fields=["status"])
        _offer_event(sibling, kind="waitlist.offer_withdrawn", actor=actor, reason="taken")
    _reopen([s.entry for s in withdrawn])
    for other in entry.offers.filter(status=O.OPEN):  # the same patient's other open offers
        other.status = O.WITHDRAWN
        other.save(update_fields=["status"])
        _offer_event(other, kind="waitlist.offer_withdrawn", actor=actor, reason="booked")
        offer_time_later(practitioner_id=other.practitioner_id, start=other.start, end=other.end)
    return appointment


@transaction.atomic
def _withdraw_gone(offer_id: int, *, reason: str) -> None:
    offer = (
        WaitlistOffer.objects.select_for_update(of=("self",))
        .select_related("entry__organization")
        .filter(pk=offer_id, status=O.OPEN)
        .first()
    )
    if offer is None:
        return
    offer.status = O.WITHDRAWN
    offer.save(update_fields=["status"])
    _offer_event(offer, kind="waitlist.offer_withdrawn", reason=reason)
    _reopen([offer.entry])
    # The time may still suit someone else (a clash only this patient had).
    offer_time_later(practitioner_id=offer.practitioner_id, start=offer.start, end=offer.end)


def waitlist_offer_claim(
    *, token_or_offer, actor: User | None = None, now: datetime | None = None
) -> Appointment:
    """Book an offered time for its patient through ``appointment_book`` (a claim link's
    token or the offer). The first claim wins: the offer becomes claimed, the entry booked,
    and the other offers of that time are withdrawn. A tampered token is 404; a claim after
    another one 409 ``offer_taken``; after expiry 410 ``offer_expired``; a second claim of
    the same offer 409 ``offer_claimed``. Nothing is booked then.

    Not one transaction as a whole on purpose: when the booking is refused because the
    time has gone, the stale offer is withdrawn (and committed) before the refusal."""
    now = now or timezone.now()
    offer_id = _offer_id(token_or_offer)
    try:
        return _claim(offer_id, actor=actor, now=now)
    except ApplicationError as exc:
        if exc.code not in GONE:
            raise
        _withdraw_gone(offer_id, reason=exc.code)
        raise ApplicationError(
            "Sorry, this time is no longer available: someone else booked it first.",
            code="offer_taken",
            status_code=409,
        ) from exc


# --- Expiry ------------------------------------------------------------------------------


@transaction.atomic
def waitlist_offers_expire(*, now: datetime | None = None) -> int:
    """Periodic: expire open offers past their time and offer that time to the next in
    line if it is still free; withdraw open offers whose time was booked another way; mark
    entries whose last date has passed expired. Returns how many offers expired."""
    now = now or timezone.now()
    expired = list(
        WaitlistOffer.objects.select_for_update(of=("self",))
        .filter(status=O.OPEN, expires_at__lte=now)
        .select_related("entry__organization")
        .order_by("pk")
    )
    for offer in expired:
        offer.status = O.EXPIRED
        offer.save(update_fields=["status"])
        _offer_event(offer, kind="waitlist.offer_expired")
    booked_elsewhere = list(
        WaitlistOffer.objects.select_for_update(of=("self",))
        .filter(status=O.OPEN)
        .filter(
            Exists(
                Appointment.objects.filter(
                    practitioner_id=OuterRef("practitioner_id"),
                    status__in=Appointment.BLOCKING,
                    start__lt=OuterRef("end"),
                    end__gt=OuterRef("start"),
                )
            )
        )
        .select_related("entry__organization")
    )
    for offer in booked_elsewhere:
        offer.status = O.WITHDRAWN
        offer.save(update_fields=["status"])
        _offer_event(offer, kind="waitlist.offer_withdrawn", reason="taken")
    _reopen([offer.entry for offer in [*expired, *booked_elsewhere]])
    _entries_past_their_dates(now)
    windows: dict[int, list[Interval]] = {}
    for offer in expired:
        windows.setdefault(offer.practitioner_id, []).append(Interval(offer.start, offer.end))
    for practitioner_id, intervals in windows.items():
        for window in merge(intervals):
            waitlist_offer_freed_slot(
                practitioner_id=practitioner_id, start=window.start, end=window.end, now=now
            )
    return len(expired)


def _entries_past_their_dates(now: datetime) -> None:
    """Waiting entries whose last date has passed (in the organization's zone) expire."""
    candidates = WaitlistEntry.objects.filter(
        status=E.WAITING, latest_date__lt=now.date() + timedelta(days=1)
    ).select_related("organization")
    for entry in candidates:
        zone = ZoneInfo(entry.organization.time_zone or "UTC")
        if entry.latest_date < timezone.localdate(now, timezone=zone):
            entry.status = E.EXPIRED
            entry.save(update_fields=["status"])
            _entry_event(entry, kind="waitlist.expired", actor=None, action="update")

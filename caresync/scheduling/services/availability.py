"""Writes for working hours: weekly availability rules, exceptions (time off, extra hours)
and organization closures. Every change is audited in its transaction."""

from datetime import date

from django.db import transaction
from django.db.models import Q

from caresync.accounts.models import Organization, User
from caresync.core.audit import audit_record
from caresync.core.errors import ApplicationError, model_validated
from caresync.directory.models import Practitioner
from caresync.scheduling.models import AvailabilityException, AvailabilityRule, Closure


def _invalid(field: str, message: str, code: str = "invalid") -> ApplicationError:
    return ApplicationError(
        "Some fields are invalid.",
        code="validation_error",
        fields={field: [{"code": code, "message": message}]},
    )


def _lock_schedule(practitioner: Practitioner) -> None:
    # Serializes concurrent schedule edits of one practitioner (PostgreSQL), so two
    # overlapping rules cannot both pass the overlap check; SQLite serializes writes anyway.
    Practitioner.objects.select_for_update().filter(pk=practitioner.pk).exists()


def overlapping_rules(rule: AvailabilityRule):
    """The practitioner's other rules on the same weekday whose hours and effective periods
    both overlap ``rule``'s (touching hours, 09:00–12:30 and 12:30–17:00, do not)."""
    others = AvailabilityRule.objects.filter(
        practitioner_id=rule.practitioner_id,
        weekday=rule.weekday,
        start_time__lt=rule.end_time,
        end_time__gt=rule.start_time,
    ).select_related("location")
    if rule.pk:
        others = others.exclude(pk=rule.pk)
    if rule.effective_to is not None:
        others = others.filter(
            Q(effective_from__isnull=True) | Q(effective_from__lte=rule.effective_to)
        )
    if rule.effective_from is not None:
        others = others.filter(
            Q(effective_to__isnull=True) | Q(effective_to__gte=rule.effective_from)
        )
    return list(others)


def _describe(rule: AvailabilityRule) -> str:
    period = ""
    if rule.effective_from or rule.effective_to:
        period = f" ({rule.effective_from or '…'} to {rule.effective_to or '…'})"
    return (
        f"{rule.get_weekday_display()} {rule.start_time:%H:%M}–{rule.end_time:%H:%M} "
        f"at {rule.location.name}{period}"
    )


def _validate_rule(rule: AvailabilityRule, services) -> None:
    organization_id = rule.practitioner.organization_id
    if rule.location_id and rule.location.organization_id != organization_id:
        raise ApplicationError("Location not found.", code="not_found", status_code=404)
    if services is not None and any(s.organization_id != organization_id for s in services):
        raise _invalid("services", "Choose services of this organization.")
    if rule.start_time is not None and rule.end_time is not None:
        if rule.end_time <= rule.start_time:
            raise _invalid("end_time", "The end must be after the start.")
    if rule.effective_from and rule.effective_to and rule.effective_to < rule.effective_from:
        raise _invalid("effective_to", "The last day must not be before the first day.")
    model_validated(rule, exclude=["organization", "practitioner"])
    clashes = overlapping_rules(rule)
    if clashes:
        raise ApplicationError(
            f"These hours overlap {_describe(clashes[0])}. Change or delete that rule first, "
            "or give the rules different effective dates.",
            code="availability_overlap",
            fields={
                "non_field_errors": [
                    {"code": "overlap", "message": f"Overlaps {_describe(r)}."} for r in clashes
                ]
            },
            extra={"overlaps": [r.pk for r in clashes]},
        )


@transaction.atomic
def availability_rule_save(
    *,
    actor: User | None,
    practitioner: Practitioner,
    rule: AvailabilityRule | None = None,
    services=None,
    **fields,
) -> AvailabilityRule:
    """Create or change a weekly availability rule (local wall time at its location).
    Several intervals a day are fine; overlapping ones (same weekday, overlapping hours and
    effective periods) are refused with ``availability_overlap``."""
    _lock_schedule(practitioner)
    created = rule is None
    rule = rule or AvailabilityRule(
        organization=practitioner.organization, practitioner=practitioner
    )
    if rule.practitioner_id != practitioner.pk:
        raise _invalid("practitioner", "A rule cannot move to another practitioner.")
    for name, value in fields.items():
        setattr(rule, name, value)
    if services is not None:
        services = list(services)
    _validate_rule(rule, services)
    rule.save()
    if services is not None:
        rule.services.set(services)
    audit_record(
        actor=actor,
        action="create" if created else "update",
        organization=practitioner.organization,
        obj=rule,
        details={
            "practitioner": practitioner.pk,
            "weekday": rule.weekday,
            "start_time": rule.start_time.isoformat(),
            "end_time": rule.end_time.isoformat(),
        },
    )
    return rule


@transaction.atomic
def availability_rules_create(
    *, actor: User | None, practitioner: Practitioner, weekdays, services=None, **fields
) -> list[AvailabilityRule]:
    """The same hours on several weekdays: all saved, or none when one is refused."""
    weekdays = sorted(set(weekdays))
    if not weekdays:
        raise _invalid("weekdays", "Choose at least one day.", code="required")
    return [
        availability_rule_save(
            actor=actor, practitioner=practitioner, weekday=weekday, services=services, **fields
        )
        for weekday in weekdays
    ]


@transaction.atomic
def availability_rule_delete(*, actor: User | None, rule: AvailabilityRule) -> None:
    """Remove a weekly rule. Appointments already booked in those hours stay booked."""
    audit_record(
        actor=actor,
        action="delete",
        organization=rule.organization,
        obj=rule,
        details={
            "practitioner": rule.practitioner_id,
            "weekday": rule.weekday,
            "start_time": rule.start_time.isoformat(),
            "end_time": rule.end_time.isoformat(),
        },
    )
    rule.delete()


@transaction.atomic
def availability_exception_save(
    *,
    actor: User | None,
    practitioner: Practitioner,
    exception: AvailabilityException | None = None,
    **fields,
) -> AvailabilityException:
    """Record time off or extra working time for a practitioner. Extra time counts even on
    public holidays and closure days (that is how a holiday is opened for bookings)."""
    created = exception is None
    exception = exception or AvailabilityException(
        organization=practitioner.organization, practitioner=practitioner
    )
    if exception.practitioner_id != practitioner.pk:
        raise _invalid("practitioner", "An exception cannot move to another practitioner.")
    for name, value in fields.items():
        setattr(exception, name, value)
    for name in ("start", "end"):
        value = getattr(exception, name)
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise _invalid(name, "Give the time with its UTC offset.")
    if exception.start and exception.end and exception.end <= exception.start:
        raise _invalid("end", "The end must be after the start.")
    model_validated(exception, exclude=["organization", "practitioner"])
    exception.save()
    audit_record(
        actor=actor,
        action="create" if created else "update",
        organization=practitioner.organization,
        obj=exception,
        details={
            "practitioner": practitioner.pk,
            "kind": exception.kind,
            "start": exception.start.isoformat(),
            "end": exception.end.isoformat(),
        },
    )
    return exception


@transaction.atomic
def availability_exception_delete(*, actor: User | None, exception: AvailabilityException) -> None:
    """Remove time off or extra hours."""
    audit_record(
        actor=actor,
        action="delete",
        organization=exception.organization,
        obj=exception,
        details={
            "practitioner": exception.practitioner_id,
            "kind": exception.kind,
            "start": exception.start.isoformat(),
            "end": exception.end.isoformat(),
        },
    )
    exception.delete()


@transaction.atomic
def closure_save(
    *,
    actor: User | None,
    organization: Organization,
    closure: Closure | None = None,
    **fields,
) -> Closure:
    """Create or change days the organization is closed (organization-local dates; one day
    when ``end_date`` is left out). Closed days are not bookable unless a practitioner has
    extra hours then."""
    created = closure is None
    closure = closure or Closure(organization=organization)
    if closure.organization_id != organization.pk:
        raise ApplicationError("Closure not found.", code="not_found", status_code=404)
    for name, value in fields.items():
        setattr(closure, name, value)
    if closure.end_date is None and isinstance(closure.start_date, date):
        closure.end_date = closure.start_date
    if closure.start_date and closure.end_date and closure.end_date < closure.start_date:
        raise _invalid("end_date", "The last day must not be before the first day.")
    model_validated(closure, exclude=["organization"])
    closure.save()
    audit_record(
        actor=actor,
        action="create" if created else "update",
        organization=organization,
        obj=closure,
        details={
            "start_date": closure.start_date.isoformat(),
            "end_date": closure.end_date.isoformat(),
            "reason": closure.reason,
        },
    )
    return closure


@transaction.atomic
def closure_delete(*, actor: User | None, closure: Closure) -> None:
    """Reopen closed days."""
    audit_record(
        actor=actor,
        action="delete",
        organization=closure.organization,
        obj=closure,
        details={
            "start_date": closure.start_date.isoformat(),
            "end_date": closure.end_date.isoformat(),
            "reason": closure.reason,
        },
    )
    closure.delete()

"""Writes for working hours: weekly availability rules and exceptions."""

from django.db import transaction

from caresync.accounts.models import User
from caresync.core.audit import audit_record
from caresync.core.errors import ApplicationError, model_validated
from caresync.directory.models import Practitioner
from caresync.scheduling.models import AvailabilityException, AvailabilityRule


@transaction.atomic
def availability_rule_save(
    *,
    actor: User | None,
    practitioner: Practitioner,
    rule: AvailabilityRule | None = None,
    services=None,
    **fields,
) -> AvailabilityRule:
    """Create or change a weekly availability rule (local wall time at its location)."""
    rule = rule or AvailabilityRule(
        organization=practitioner.organization, practitioner=practitioner
    )
    for name, value in fields.items():
        setattr(rule, name, value)
    if rule.location_id and rule.location.organization_id != practitioner.organization_id:
        raise ApplicationError("Location not found.", code="not_found", status_code=404)
    model_validated(rule)
    rule.save()
    if services is not None:
        rule.services.set(services)
    audit_record(
        actor=actor,
        action="update",
        organization=practitioner.organization,
        obj=rule,
        details={"practitioner": practitioner.pk},
    )
    return rule


@transaction.atomic
def availability_exception_save(
    *,
    actor: User | None,
    practitioner: Practitioner,
    exception: AvailabilityException | None = None,
    **fields,
) -> AvailabilityException:
    """Record time off or extra working time for a practitioner."""
    exception = exception or AvailabilityException(
        organization=practitioner.organization, practitioner=practitioner
    )
    for name, value in fields.items():
        setattr(exception, name, value)
    model_validated(exception)
    exception.save()
    audit_record(
        actor=actor,
        action="update",
        organization=practitioner.organization,
        obj=exception,
        details={"practitioner": practitioner.pk},
    )
    return exception

"""Writes for the directory: patients (MRN, duplicates), practitioners, care teams, services,
locations and resources. Every PHI change is audited in the same transaction."""

import uuid
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from caresync.accounts.models import Membership, Organization, User
from caresync.accounts.services import member_invite
from caresync.core.audit import audit_record
from caresync.core.errors import ApplicationError, model_validated
from caresync.core.middleware import current_request_context
from caresync.core.uploads import image_checked
from caresync.directory.models import (
    PATIENT_EDITABLE_FIELDS,
    CareTeamMember,
    Location,
    Patient,
    Practitioner,
    Resource,
    Service,
    ServiceResourceNeed,
    WebhookLog,
)
from caresync.directory.normalize import email_key, name_key, phone_key
from caresync.directory.selectors import patient_duplicates

PATIENT_FIELDS = {*PATIENT_EDITABLE_FIELDS, "photo", "user"}


def _name_free(instance) -> None:
    """A friendly field error for the per-organization unique name (the database enforces
    it too)."""
    taken = (
        type(instance)
        .objects.filter(organization=instance.organization, name=instance.name)
        .exclude(pk=instance.pk)
    )
    if taken.exists():
        label = type(instance)._meta.verbose_name
        raise ApplicationError(
            f"Another {label} is already called {instance.name!r}.",
            code="name_taken",
            status_code=400,
            fields={"name": [{"code": "unique", "message": f"Another {label} has this name."}]},
        )


def _mrn_next(organization: Organization) -> str:
    """Reserve the organization's next MRN. The row update locks the organization until the
    transaction ends, so concurrent creations get distinct numbers."""
    Organization.objects.filter(pk=organization.pk).update(mrn_sequence=F("mrn_sequence") + 1)
    sequence = Organization.objects.values_list("mrn_sequence", flat=True).get(pk=organization.pk)
    prefix = organization.mrn_prefix or "".join(w[0] for w in organization.slug.split("-"))[:4]
    return f"{prefix.upper()}-{sequence:06d}"


def _patient_fields_known(fields: dict) -> None:
    unknown = set(fields) - PATIENT_FIELDS
    if unknown:
        raise ApplicationError(
            f"Unknown patient fields: {', '.join(sorted(unknown))}.", code="validation_error"
        )


def _normalize(patient: Patient) -> None:
    patient.email = email_key(patient.email)
    patient.search_name = name_key(patient.given_name, patient.preferred_name, patient.family_name)
    patient.search_phone = phone_key(patient.phone)


@transaction.atomic
def patient_create(
    *, actor: User | None, organization: Organization, allow_duplicate: bool = False, **fields
) -> Patient:
    """Register a patient with a new MRN. A likely duplicate (same name and date of birth,
    and same phone or email) is refused with 409 unless ``allow_duplicate`` (audited)."""
    _patient_fields_known(fields)
    patient = Patient(organization=organization, mrn="pending", **fields)
    _normalize(patient)
    model_validated(patient, exclude=["mrn"])
    candidates = list(patient_duplicates(organization=organization, patient=patient))
    if candidates and not allow_duplicate:
        raise ApplicationError(
            "A patient with the same name, date of birth and contact details exists.",
            code="duplicate_patient",
            status_code=409,
            extra={
                "candidates": [
                    {
                        "id": c.pk,
                        "mrn": c.mrn,
                        "name": c.display_name,
                        "date_of_birth": c.date_of_birth.isoformat(),
                    }
                    for c in candidates
                ]
            },
        )
    patient.mrn = _mrn_next(organization)
    patient.save()
    details = {"duplicate_override": [c.pk for c in candidates]} if candidates else {}
    audit_record(
        actor=actor,
        action="create",
        organization=organization,
        obj=patient,
        patient_id=patient.pk,
        details=details,
    )
    return patient


@transaction.atomic
def patient_update(*, actor: User, patient: Patient, **changes) -> Patient:
    """Change a patient's details; the audit row names the fields (not their values)."""
    _patient_fields_known(changes)
    changed = sorted(name for name, value in changes.items() if getattr(patient, name) != value)
    for name, value in changes.items():
        setattr(patient, name, value)
    _normalize(patient)
    model_validated(patient)
    patient.save()
    audit_record(
        actor=actor,
        action="update",
        organization=patient.organization,
        obj=patient,
        patient_id=patient.pk,
        details={"fields": changed},
    )
    return patient


@transaction.atomic
def patient_deactivate(*, actor: User, patient: Patient) -> Patient:
    """Mark a patient inactive. Clinical data is never destroyed."""
    patient.is_active = False
    patient.save(update_fields=["is_active", "updated_at"])
    audit_record(
        actor=actor,
        action="delete",
        organization=patient.organization,
        obj=patient,
        patient_id=patient.pk,
        details={"deactivated": True},
    )
    return patient


@transaction.atomic
def practitioner_create(
    *,
    actor: User | None,
    organization: Organization,
    email: str,
    kind: str,
    first_name: str = "",
    last_name: str = "",
    locations=(),
    **profile,
) -> Practitioner:
    """Invite a clinician (an account with a set-password link) and create their profile."""
    membership = member_invite(
        actor=actor,
        organization=organization,
        email=email,
        role=Membership.Role.PRACTITIONER,
        first_name=first_name,
        last_name=last_name,
        practitioner_kind=kind,
    )
    return practitioner_profile_create(
        actor=actor, membership=membership, locations=locations, **profile
    )


@transaction.atomic
def practitioner_profile_create(
    *, actor: User | None, membership: Membership, locations=(), **profile
) -> Practitioner:
    """The professional profile of an existing practitioner member."""
    practitioner = Practitioner(
        organization=membership.organization,
        user=membership.user,
        kind=membership.practitioner_kind,
        **profile,
    )
    model_validated(practitioner, exclude=["photo"])
    practitioner.save()
    practitioner.locations.set(locations)
    audit_record(
        actor=actor, action="create", organization=membership.organization, obj=practitioner
    )
    return practitioner


@transaction.atomic
def practitioner_update(
    *, actor: User, practitioner: Practitioner, locations=None, **changes
) -> Practitioner:
    for name, value in changes.items():
        setattr(practitioner, name, value)
    model_validated(practitioner, exclude=["photo"])
    practitioner.save()
    if locations is not None:
        practitioner.locations.set(locations)
    if "kind" in changes:
        Membership.objects.filter(
            user=practitioner.user,
            organization=practitioner.organization,
            role=Membership.Role.PRACTITIONER,
        ).update(practitioner_kind=practitioner.kind)
    audit_record(
        actor=actor,
        action="update",
        organization=practitioner.organization,
        obj=practitioner,
        details={"fields": sorted(changes)},
    )
    return practitioner


@transaction.atomic
def practitioner_deactivate(*, actor: User, practitioner: Practitioner) -> Practitioner:
    """Stop offering a practitioner for booking; their history stays."""
    practitioner.is_active = False
    practitioner.accepting_new_patients = False
    practitioner.save(update_fields=["is_active", "accepting_new_patients"])
    audit_record(
        actor=actor,
        action="delete",
        organization=practitioner.organization,
        obj=practitioner,
        details={"deactivated": True},
    )
    return practitioner


@transaction.atomic
def care_team_assign(
    *,
    actor: User | None,
    patient: Patient,
    practitioner: Practitioner,
    role: str,
    start_date: date | None = None,
    notes: str = "",
) -> CareTeamMember:
    """Put a practitioner on a patient's care team. A new primary nurse or doctor replaces
    the current one, whose assignment ends the day before."""
    if practitioner.organization_id != patient.organization_id:
        raise ApplicationError("Practitioner not found.", code="not_found", status_code=404)
    start = start_date or timezone.localdate()
    if role in (CareTeamMember.Role.PRIMARY_NURSE, CareTeamMember.Role.PRIMARY_DOCTOR):
        for current in CareTeamMember.objects.filter(
            patient=patient, role=role, end_date__isnull=True
        ):
            current.end_date = max(current.start_date, start - timedelta(days=1))
            current.save(update_fields=["end_date"])
    member = CareTeamMember(
        organization=patient.organization,
        patient=patient,
        practitioner=practitioner,
        role=role,
        start_date=start,
        notes=notes,
    )
    model_validated(member)
    member.save()
    audit_record(
        actor=actor,
        action="create",
        organization=patient.organization,
        obj=member,
        patient_id=patient.pk,
        details={"role": role, "practitioner": practitioner.pk},
    )
    return member


@transaction.atomic
def care_team_end(*, actor: User, member: CareTeamMember, end_date: date | None = None) -> None:
    member.end_date = end_date or timezone.localdate()
    model_validated(member)
    member.save(update_fields=["end_date"])
    audit_record(
        actor=actor,
        action="update",
        organization=member.organization,
        obj=member,
        patient_id=member.patient_id,
        details={"ended": member.end_date.isoformat()},
    )


def _catalogue_save(actor: User | None, instance, fields: dict):
    """Set, check (unique name per organization, model rules), save and audit a location,
    resource or service."""
    for name, value in fields.items():
        setattr(instance, name, value)
    _name_free(instance)
    model_validated(instance)
    created = instance.pk is None
    instance.save()
    audit_record(
        actor=actor,
        action="create" if created else "update",
        organization=instance.organization,
        obj=instance,
    )
    return instance


@transaction.atomic
def location_save(
    *, actor: User | None, organization: Organization, location: Location | None = None, **fields
) -> Location:
    """Create (``location=None``) or change a location."""
    return _catalogue_save(actor, location or Location(organization=organization), fields)


@transaction.atomic
def resource_save(
    *, actor: User | None, organization: Organization, resource: Resource | None = None, **fields
) -> Resource:
    """Create (``resource=None``) or change a room, scanner or piece of equipment."""
    location = fields.get("location") or getattr(resource, "location", None)
    if location is not None and location.organization_id != organization.pk:
        raise ApplicationError("Location not found.", code="not_found", status_code=404)
    return _catalogue_save(actor, resource or Resource(organization=organization), fields)


@transaction.atomic
def service_save(
    *,
    actor: User | None,
    organization: Organization,
    service: Service | None = None,
    practitioners=None,
    resource_needs=None,
    **fields,
) -> Service:
    """Create (``service=None``) or change an appointment type, its practitioners and the
    resource kinds it needs (``[{"kind": "scanner", "modality": "MR"}]``)."""
    if practitioners is not None and any(
        p.organization_id != organization.pk for p in practitioners
    ):
        raise ApplicationError("Practitioner not found.", code="not_found", status_code=404)
    service = _catalogue_save(actor, service or Service(organization=organization), fields)
    if practitioners is not None:
        service.practitioners.set(practitioners)
    if resource_needs is not None:
        service.resource_needs.all().delete()
        ServiceResourceNeed.objects.bulk_create(
            ServiceResourceNeed(
                service=service, kind=need["kind"], modality=need.get("modality", "")
            )
            for need in resource_needs
        )
    return service


def webhook_log_record(
    *,
    organization: Organization | None,
    status_code: int,
    outcome: str,
    error: str = "",
    patient: Patient | None = None,
) -> WebhookLog:
    """Log one intake-webhook call (kept even when the call itself was refused)."""
    context = current_request_context()
    return WebhookLog.objects.create(
        organization=organization,
        source_ip=context.ip,
        status_code=status_code,
        outcome=outcome,
        error=error[:2000],
        patient=patient,
        request_id=context.request_id if context.request_id != "-" else "",
    )


def _photo_replace(instance, upload, *, update_fields: list[str]) -> None:
    """Store a verified image as ``instance.photo`` and drop the old file after commit."""
    extension = image_checked(upload, max_bytes=settings.PATIENT_PHOTO_MAX_BYTES)
    old = instance.photo.name if instance.photo else ""
    instance.photo.save(
        f"{instance.organization_id}/{uuid.uuid4().hex}.{extension}", upload, save=False
    )
    instance.save(update_fields=update_fields)
    if old:
        transaction.on_commit(lambda: instance.photo.storage.delete(old))


@transaction.atomic
def patient_photo_set(*, actor: User, patient: Patient, upload) -> Patient:
    """Replace the patient's photo with a verified image (stored privately)."""
    _photo_replace(patient, upload, update_fields=["photo", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        organization=patient.organization,
        obj=patient,
        patient_id=patient.pk,
        details={"fields": ["photo"]},
    )
    return patient


@transaction.atomic
def practitioner_photo_set(*, actor: User, practitioner: Practitioner, upload) -> Practitioner:
    """Replace a practitioner's profile photo with a verified image."""
    _photo_replace(practitioner, upload, update_fields=["photo"])
    audit_record(
        actor=actor,
        action="update",
        organization=practitioner.organization,
        obj=practitioner,
        details={"fields": ["photo"]},
    )
    return practitioner

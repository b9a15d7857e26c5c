"""Who may read and write clinical content: the relationship checks behind the ``record.*``,
``note.*`` and ``attachment.*`` rules of ``caresync.core.policy``, and the same scoping as
querysets for lists.

- Org admins read everything of their organization (audited); they write nothing clinical
  but may retract.
- Practitioners read and write for patients in their care: a current care-team role, an
  appointment with them (not cancelled or rejected), a radiology report they write, review
  or referred, or an unexpired break-glass access.
- Staff read only while an org admin's access grant is in force.
- Patients read only their own released (final or amended) medical records and the
  attachments of those records; never notes.
- Drafts are visible to their author only.
"""

from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet
from django.utils import timezone

from caresync.core import policy
from caresync.core.models import BreakGlassAccess
from caresync.core.policy import Actor
from caresync.directory.models import CareTeamMember, Patient
from caresync.records.models import (
    RELEASED_STATUSES,
    Attachment,
    ClinicalAccessGrant,
    ClinicalNote,
    ClinicalStatus,
    MedicalRecord,
    RadiologyReport,
)
from caresync.scheduling.models import Appointment

NOT_A_VISIT = (Appointment.Status.CANCELLED, Appointment.Status.REJECTED)


def patient_of(obj) -> Patient:
    return obj if isinstance(obj, Patient) else obj.patient


def _user_id(actor: Actor):
    return getattr(actor.user, "pk", None)


def staff_grant_active(actor: Actor) -> bool:
    """Whether an org admin's clinical read grant for this staff member is in force."""
    if actor.organization is None or _user_id(actor) is None:
        return False
    now = timezone.now()
    return ClinicalAccessGrant.objects.filter(
        organization=actor.organization,
        user_id=_user_id(actor),
        revoked_at__isnull=True,
        granted_at__lte=now,
        expires_at__gt=now,
    ).exists()


def _break_glass_patient_ids(actor: Actor) -> list[int]:
    ids = BreakGlassAccess.objects.filter(
        organization=actor.organization, actor_id=_user_id(actor), expires_at__gt=timezone.now()
    ).values_list("patient_id", flat=True)
    return [int(pk) for pk in ids if str(pk).isdigit()]


def care_filter(actor: Actor, *, break_glass: bool = True) -> Q:
    """Patients (as a ``Patient`` filter) a practitioner has a care relationship with, or
    (``break_glass``) holds unexpired break-glass access to."""
    user_id = _user_id(actor)
    organization = actor.organization
    today = timezone.localdate()
    care_team = CareTeamMember.objects.filter(
        organization=organization, practitioner__user_id=user_id, start_date__lte=today
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
    visits = Appointment.objects.filter(
        organization=organization, practitioner__user_id=user_id
    ).exclude(status__in=NOT_A_VISIT)
    reports = RadiologyReport.objects.filter(organization=organization).filter(
        Q(radiologist__user_id=user_id)
        | Q(reviewer__user_id=user_id)
        | Q(referring_doctor__user_id=user_id)
    )
    relationship = (
        Q(pk__in=care_team.values("patient_id"))
        | Q(pk__in=visits.values("patient_id"))
        | Q(pk__in=reports.values("patient_id"))
    )
    if break_glass:
        relationship |= Q(pk__in=_break_glass_patient_ids(actor))
    return relationship


def care_relationship(actor: Actor, patient: Patient) -> bool:
    """Whether the practitioner has a care relationship (or break-glass) with the patient."""
    if _user_id(actor) is None or patient.organization_id != getattr(
        actor.organization, "pk", None
    ):
        return False
    return Patient.objects.filter(pk=patient.pk).filter(care_filter(actor)).exists()


def access_basis(actor: Actor, patient: Patient) -> str:
    """Why the actor may read the patient's clinical content, for the audit trail."""
    if policy.ORG_ADMIN in actor.roles:
        return "org_admin"
    if policy.PRACTITIONER in actor.roles:
        ordinary = Patient.objects.filter(pk=patient.pk).filter(
            care_filter(actor, break_glass=False)
        )
        return "care_relationship" if ordinary.exists() else "break_glass"
    if policy.STAFF in actor.roles:
        return "staff_grant"
    return "own_record"


def clinic_reader(actor: Actor) -> bool:
    """Reads as a member of the clinic (not only as a patient)."""
    roles = actor.roles
    return (
        policy.ORG_ADMIN in roles
        or policy.PRACTITIONER in roles
        or (policy.STAFF in roles and staff_grant_active(actor))
    )


def _is_author(actor: Actor, obj) -> bool:
    user_id = _user_id(actor)
    if user_id is None:
        return False
    if isinstance(obj, MedicalRecord):
        return obj.practitioner.user_id == user_id
    if isinstance(obj, ClinicalNote):
        return obj.author.user_id == user_id
    if isinstance(obj, Attachment):
        return obj.uploaded_by_id == user_id
    return False


def _draft_hidden(actor: Actor, obj) -> bool:
    return (
        isinstance(obj, MedicalRecord | ClinicalNote)
        and obj.status == ClinicalStatus.DRAFT
        and not _is_author(actor, obj)
    )


def _released_to_patient(obj) -> bool:
    if isinstance(obj, Patient):
        return True
    if isinstance(obj, MedicalRecord):
        return obj.status in RELEASED_STATUSES
    if isinstance(obj, RadiologyReport):
        return obj.released_at is not None
    if isinstance(obj, Attachment):
        if obj.retracted_at is not None:
            return False
        if obj.radiology_report_id is not None:
            return obj.radiology_report.released_at is not None
        return obj.record_id is not None and obj.record.status in RELEASED_STATUSES
    return False


def clinical_read_allowed(actor: Actor, obj) -> bool:
    """The object rule of ``record.view``, ``note.view`` and ``attachment.view`` (a
    radiology report's files: whoever may read the report)."""
    if isinstance(obj, Attachment) and obj.radiology_report_id is not None:
        report = obj.radiology_report
        if policy.PATIENT in actor.roles and not clinic_reader(actor):
            return clinical_read_allowed(actor, report) and _released_to_patient(obj)
        return radiology_read_allowed(actor, report)
    patient = patient_of(obj)
    if _draft_hidden(actor, obj):
        return False
    roles = actor.roles
    if policy.ORG_ADMIN in roles:
        return True
    if policy.PRACTITIONER in roles and care_relationship(actor, patient):
        return True
    if policy.STAFF in roles and staff_grant_active(actor):
        return True
    return (
        policy.PATIENT in roles
        and patient.user_id is not None
        and patient.user_id == _user_id(actor)
        and _released_to_patient(obj)
    )


def clinical_care_allowed(actor: Actor, obj) -> bool:
    """The object rule of writing for a patient: a practitioner in their care."""
    return policy.PRACTITIONER in actor.roles and care_relationship(actor, patient_of(obj))


def clinical_author(actor: Actor, obj) -> bool:
    """The object rule of editing: the practitioner who wrote (or uploaded) it."""
    return _is_author(actor, obj)


def _any(filters: list[Q]) -> Q | None:
    return reduce(or_, filters) if filters else None


def readable_patients(actor: Actor) -> QuerySet[Patient]:
    """Patients whose clinical content the actor may read (patients: themselves)."""
    if actor.organization is None or _user_id(actor) is None:
        return Patient.objects.none()
    patients = Patient.objects.filter(organization=actor.organization)
    roles = actor.roles
    if policy.ORG_ADMIN in roles or (policy.STAFF in roles and staff_grant_active(actor)):
        return patients
    filters = []
    if policy.PRACTITIONER in roles:
        filters.append(care_filter(actor))
    if policy.PATIENT in roles:
        filters.append(Q(user_id=_user_id(actor)))
    combined = _any(filters)
    return patients.filter(combined) if combined is not None else Patient.objects.none()


def scoped_clinical_rows(actor: Actor, rows: QuerySet, *, author_field: str) -> QuerySet:
    """Records or notes the actor may read: the patients they may read, drafts only their
    author's; as a patient only, released records of their own."""
    if actor.organization is None or _user_id(actor) is None:
        return rows.none()
    rows = rows.filter(organization=actor.organization)
    if clinic_reader(actor):
        return rows.filter(patient__in=readable_patients(actor)).filter(
            ~Q(status=ClinicalStatus.DRAFT) | Q(**{f"{author_field}__user_id": _user_id(actor)})
        )
    if policy.PATIENT in actor.roles and rows.model is MedicalRecord:
        return rows.filter(patient__user_id=_user_id(actor), status__in=RELEASED_STATUSES)
    return rows.none()


# --- Radiology reports ------------------------------------------------------------------------


def _practitioner(actor: Actor):
    from caresync.directory.models import Practitioner

    if actor.organization is None or _user_id(actor) is None:
        return None
    return Practitioner.objects.filter(
        organization=actor.organization, user_id=_user_id(actor), is_active=True
    ).first()


def _report_appointment(obj) -> Appointment:
    return obj.appointment if isinstance(obj, RadiologyReport) else obj


def radiology_reporter_allowed(actor: Actor, obj) -> bool:
    """The object rule of opening and writing a report (``obj``: a report or a radiology
    appointment): its radiologist once taken; before that any radiologist of the
    organization or the practitioner who performed the scan."""
    if policy.PRACTITIONER not in actor.roles:
        return False
    practitioner = _practitioner(actor)
    if practitioner is None:
        return False
    if isinstance(obj, RadiologyReport) and obj.radiologist_id is not None:
        return obj.radiologist_id == practitioner.pk
    appointment = _report_appointment(obj)
    return (
        practitioner.kind == practitioner.Kind.RADIOLOGIST
        or appointment.practitioner_id == practitioner.pk
    )


def radiology_reviewer_allowed(actor: Actor, obj) -> bool:
    """The object rule of reviewing: a radiologist of the organization, or a practitioner
    in the patient's care (the service refuses the author)."""
    if policy.PRACTITIONER not in actor.roles:
        return False
    practitioner = _practitioner(actor)
    if practitioner is None:
        return False
    return practitioner.kind == practitioner.Kind.RADIOLOGIST or care_relationship(
        actor, obj.patient
    )


def scoped_radiology_reports(actor: Actor, rows: QuerySet) -> QuerySet:
    """Reports the actor may read: clinic members those of patients they may read, and
    radiologists every report of the organization (their worklist); patients their own
    released reports."""
    if actor.organization is None or _user_id(actor) is None:
        return rows.none()
    rows = rows.filter(organization=actor.organization)
    if clinic_reader(actor):
        practitioner = _practitioner(actor) if policy.PRACTITIONER in actor.roles else None
        if practitioner is not None and practitioner.kind == practitioner.Kind.RADIOLOGIST:
            return rows
        return rows.filter(patient__in=readable_patients(actor))
    if policy.PATIENT in actor.roles:
        return rows.filter(patient__user_id=_user_id(actor), released_at__isnull=False)
    return rows.none()


def radiology_read_allowed(actor: Actor, obj) -> bool:
    """The object rule of ``radiology.view``: the clinical read rule (the referring doctor,
    author and reviewer have a care relationship through the report; patients their own
    released reports), and any radiologist of the organization."""
    if clinical_read_allowed(actor, obj):
        return True
    practitioner = _practitioner(actor) if policy.PRACTITIONER in actor.roles else None
    return practitioner is not None and practitioner.kind == practitioner.Kind.RADIOLOGIST

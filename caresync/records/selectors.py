"""Reads of clinical content, scoped by ``caresync.records.access``; every read of clinical
content shown to someone is audited (one row per record, note or file shown)."""

from datetime import date

from django.db.models import Q, QuerySet

from caresync.core.audit import audit_record
from caresync.core.policy import Actor
from caresync.directory.models import Patient, Practitioner, Service
from caresync.records.access import access_basis, patient_of, scoped_clinical_rows
from caresync.records.icd10 import code_prefix
from caresync.records.models import (
    Attachment,
    ClinicalAccessGrant,
    ClinicalNote,
    ClinicalNoteVersion,
    IcdCode,
    MedicalRecord,
    MedicalRecordVersion,
    NoteTemplate,
)
from caresync.records.sanitize import clinical_html
from caresync.scheduling.models import Appointment

ICD_RESULTS = 20


def practitioner_for(*, actor: Actor) -> Practitioner | None:
    """The acting user's practitioner profile in their organization, if any."""
    if actor.organization is None or actor.user is None:
        return None
    return Practitioner.objects.filter(organization=actor.organization, user=actor.user).first()


def medical_record_list(*, actor: Actor) -> QuerySet[MedicalRecord]:
    """Medical records the actor may read (the caller audits those it shows)."""
    rows = MedicalRecord.objects.select_related(
        "patient", "practitioner__user", "appointment__service"
    )
    return scoped_clinical_rows(actor, rows, author_field="practitioner")


def clinical_note_list(
    *,
    actor: Actor,
    note_type: str = "",
    author: int | None = None,
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[ClinicalNote]:
    """Notes the actor may read, newest first with pinned notes on top, filtered by type,
    author (practitioner id) and date (the organization's days are UTC dates here)."""
    rows = ClinicalNote.objects.select_related(
        "patient", "author__user", "appointment__service"
    ).prefetch_related("attachments")
    rows = scoped_clinical_rows(actor, rows, author_field="author")
    if note_type:
        rows = rows.filter(note_type=note_type)
    if author:
        rows = rows.filter(author_id=author)
    if since:
        rows = rows.filter(created_at__date__gte=since)
    if until:
        rows = rows.filter(created_at__date__lte=until)
    return rows


def attachment_list(*, actor: Actor) -> QuerySet[Attachment]:
    """Files the actor may see: those on the records, notes and radiology reports they may
    read, and unfiled ones on the charts of patients they may read (clinic members)."""
    if actor.organization is None:
        return Attachment.objects.none()
    records = medical_record_list(actor=actor).values("pk")
    notes = clinical_note_list(actor=actor).values("pk")
    reports = radiology_report_list(actor=actor).values("pk")
    rows = Attachment.objects.filter(organization=actor.organization).select_related(
        "patient", "uploaded_by", "record", "note", "radiology_report"
    )
    visible = Q(record__in=records) | Q(note__in=notes) | Q(radiology_report__in=reports)
    from caresync.records.access import clinic_reader, readable_patients

    if clinic_reader(actor):
        visible |= Q(
            record__isnull=True,
            note__isnull=True,
            radiology_report__isnull=True,
            patient__in=readable_patients(actor),
        )
    else:
        visible &= Q(retracted_at__isnull=True)
    return rows.filter(visible)


def medical_record_versions(*, record: MedicalRecord) -> QuerySet[MedicalRecordVersion]:
    return record.versions.select_related("changed_by").order_by("-number")


def clinical_note_versions(*, note: ClinicalNote) -> QuerySet[ClinicalNoteVersion]:
    return note.versions.select_related("changed_by").order_by("-number")


def clinical_reads_record(*, actor: Actor, objects, reason: str = "", details=None) -> None:
    """Audit that the actor was shown these records, notes or files (one row each), with
    the basis of access (care relationship, break-glass, grant, own record)."""
    basis: dict[int, str] = {}
    for obj in objects:
        patient = patient_of(obj)
        if patient.pk not in basis:
            basis[patient.pk] = access_basis(actor, patient)
        audit_record(
            actor=actor.user,
            action="read",
            organization=patient.organization,
            obj=obj,
            patient_id=patient.pk,
            reason=reason,
            details={"via": basis[patient.pk], **(details or {})},
            actor_label=actor.label,
        )


def icd10_search(*, query: str, limit: int = ICD_RESULTS) -> QuerySet[IcdCode]:
    """ICD-10 codes by code prefix (``E11``, ``e119``) or by words (every word must match
    the code or title)."""
    query = (query or "").strip()
    if not query:
        return IcdCode.objects.none()
    prefix = code_prefix(query)
    if prefix is not None:
        return IcdCode.objects.filter(code__startswith=prefix).order_by("code")[:limit]
    codes = IcdCode.objects.all()
    for word in query.lower().split()[:8]:
        codes = codes.filter(search_text__contains=word)
    return codes.order_by("code")[:limit]


def icd10_title(code: str) -> str | None:
    return IcdCode.objects.filter(code=code).values_list("title", flat=True).first()


def note_template_for(*, appointment: Appointment) -> dict:
    """The starting content of the note for an appointment: its service's template, else
    the organization's default, else a built-in one by the kind of service."""
    templates = NoteTemplate.objects.filter(
        organization_id=appointment.organization_id, is_active=True
    )
    template = (
        templates.filter(service_id=appointment.service_id).first()
        or templates.filter(service__isnull=True).first()
    )
    if template is not None:
        return {
            "template": template.name,
            "note_type": template.note_type,
            "title": template.title or appointment.service.name,
            "body": clinical_html(template.body),
            "subjective": clinical_html(template.subjective),
            "objective": clinical_html(template.objective),
            "assessment": clinical_html(template.assessment),
            "plan": clinical_html(template.plan),
        }
    return builtin_template(appointment.service)


def builtin_template(service: Service) -> dict:
    category = service.category
    if category == Service.Category.PHONE:
        return {
            "template": "Phone call",
            "note_type": "phone_call",
            "title": service.name,
            "body": "<p><strong>Reason for call:</strong> </p><p><strong>Advice given:</strong> "
            "</p><p><strong>Follow-up:</strong> </p>",
        }
    if category == Service.Category.RADIOLOGY:
        return {
            "template": "Imaging visit",
            "note_type": "progress",
            "title": service.name,
            "body": "<p><strong>Procedure:</strong> </p><p><strong>Preparation and "
            "contrast:</strong> </p><p><strong>Tolerated / complications:</strong> </p>",
        }
    return {
        "template": "SOAP",
        "note_type": "soap",
        "title": service.name,
        "subjective": "<p>Presenting complaint: </p>",
        "objective": "<p>Observations: </p>",
        "assessment": "",
        "plan": "<p>Follow-up: </p>",
    }


def note_template_list(*, actor: Actor) -> QuerySet[NoteTemplate]:
    """The organization's note templates, active first, by service and name."""
    if actor.organization is None:
        return NoteTemplate.objects.none()
    return (
        NoteTemplate.objects.filter(organization=actor.organization)
        .select_related("service")
        .order_by("-is_active", "service__name", "name", "pk")
    )


def clinical_access_candidates(*, actor: Actor):
    """Active staff members of the organization (those a clinical read grant is for)."""
    from caresync.accounts.models import Membership, User

    if actor.organization is None:
        return User.objects.none()
    return User.objects.filter(
        memberships__organization=actor.organization,
        memberships__role=Membership.Role.STAFF,
        memberships__is_active=True,
        is_active=True,
    ).order_by("last_name", "first_name", "email")


def clinical_access_grant_list(*, actor: Actor) -> QuerySet[ClinicalAccessGrant]:
    if actor.organization is None:
        return ClinicalAccessGrant.objects.none()
    return ClinicalAccessGrant.objects.filter(organization=actor.organization).select_related(
        "user", "granted_by", "revoked_by"
    )


def appointments_for_notes(*, patient: Patient) -> QuerySet[Appointment]:
    """The patient's visits a note can be linked to (not cancelled or rejected)."""
    return (
        Appointment.objects.filter(patient=patient)
        .exclude(status__in=(Appointment.Status.CANCELLED, Appointment.Status.REJECTED))
        .select_related("service", "practitioner__user")
        .order_by("-start")
    )


def radiology_report_list(*, actor: Actor):
    """Radiology reports the actor may read (the caller audits those it shows)."""
    from caresync.records.access import scoped_radiology_reports
    from caresync.records.models import RadiologyReport

    rows = RadiologyReport.objects.select_related(
        "patient",
        "organization",
        "appointment__service",
        "radiologist__user",
        "reviewer__user",
        "referring_doctor__user",
    )
    return scoped_radiology_reports(actor, rows)


UNREPORTED_STATUSES = ("pending", "in_progress")


def radiology_worklist(*, actor: Actor, modality: str = "") -> list[Appointment]:
    """Scans done and not yet reported (no report, or pending / in progress), oldest first,
    each with ``age`` (since the scan) — a radiologist's worklist of the organization (the
    caller audits the rows it shows)."""
    from django.utils import timezone

    if actor.organization is None:
        return []
    now = timezone.now()
    rows = (
        Appointment.objects.filter(
            organization=actor.organization,
            service__category=Service.Category.RADIOLOGY,
            start__lte=now,
        )
        .exclude(status__in=("cancelled", "rejected", "no_show"))
        .filter(
            Q(radiology_report__isnull=True) | Q(radiology_report__status__in=UNREPORTED_STATUSES)
        )
        .select_related("patient", "service", "practitioner__user", "radiology_report")
        .order_by("start")
    )
    if modality:
        rows = rows.filter(service__modality=modality)
    scans = list(rows[:200])
    for scan in scans:
        scan.age = now - scan.end
        scan.report = getattr(scan, "radiology_report", None)
    return scans


def radiology_recently_reported(*, actor: Actor, modality: str = "", limit: int = 20):
    """The latest completed or reviewed reports with ``turnaround`` (scan end → signed)."""
    reports = radiology_report_list(actor=actor).filter(status__in=("completed", "reviewed"))
    if modality:
        reports = reports.filter(modality=modality)
    rows = list(reports.order_by("-completed_at")[:limit])
    for report in rows:
        report.turnaround = report.completed_at - report.appointment.end
    return rows

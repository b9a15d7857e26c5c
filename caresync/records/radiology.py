"""Writes of radiology reports (seed 004): one report per radiology appointment, pending →
in_progress → completed → reviewed (the reviewer is not the author), amendments after
completion as new versions with a reason. Completion (or review, by
``RADIOLOGY_RELEASE_AFTER``) releases the report to the patient and emits ``report.ready``
in the same transaction; each completion, review and amendment regenerates the PDF with
its version number. Every write is audited in the same transaction."""

import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from caresync.accounts.models import User
from caresync.core.audit import audit_record
from caresync.core.errors import ApplicationError
from caresync.directory.models import Practitioner, Service
from caresync.notifications.outbox import domain_event_record
from caresync.records.models import RadiologyReport, RadiologyReportVersion, ReportAccess
from caresync.records.report_pdf import report_pdf_bytes
from caresync.records.services import _conflict, _invalid, _reason_required
from caresync.scheduling.models import Appointment

Status = RadiologyReport.Status
CONTENT_FIELDS = (
    "clinical_indication",
    "technique",
    "comparison",
    "findings",
    "impression",
    "recommendations",
)
FIELD_LIMIT = 20_000
RELEASE_STATUSES = {
    "completed": (Status.COMPLETED, Status.REVIEWED),
    "reviewed": (Status.REVIEWED,),
}


def release_statuses() -> tuple[str, ...]:
    """The statuses in which a report is released to the patient (the setting)."""
    return RELEASE_STATUSES.get(settings.RADIOLOGY_RELEASE_AFTER, RELEASE_STATUSES["completed"])


def _audit(actor, action: str, report: RadiologyReport, **details) -> None:
    audit_record(
        actor=actor,
        action=action,
        organization=report.organization,
        obj=report,
        patient_id=report.patient_id,
        details=details,
    )


def _version(report: RadiologyReport, *, actor: User | None, reason: str = "") -> None:
    """Snapshot the signed content: version 1 at completion, one more per amendment (the
    status changes in between are in the audit trail)."""
    data = {name: getattr(report, name) for name in CONTENT_FIELDS}
    data["radiologist"] = report.radiologist_id
    data["reviewer"] = report.reviewer_id
    RadiologyReportVersion.objects.create(
        report=report,
        number=report.version,
        status=report.status,
        data=data,
        changed_by=actor,
        changed_at=timezone.now(),
        reason=reason,
    )


def _locked(report: RadiologyReport) -> RadiologyReport:
    return RadiologyReport.objects.select_for_update().get(pk=report.pk)


def _practitioner_checked(practitioner: Practitioner, report: RadiologyReport, field: str):
    if practitioner.organization_id != report.organization_id or not practitioner.is_active:
        raise ApplicationError(
            "Only an active practitioner of the report's organization can do this.",
            code="not_a_practitioner",
            status_code=403,
        )


def _author_only(report: RadiologyReport, radiologist: Practitioner) -> None:
    if report.radiologist_id is not None and report.radiologist_id != radiologist.pk:
        raise ApplicationError(
            "Another radiologist is reporting this scan.", code="not_the_author", status_code=403
        )


def _status_required(report: RadiologyReport, *allowed: str, doing: str) -> None:
    if report.status not in allowed:
        raise _conflict(
            f"A {report.get_status_display().lower()} report cannot be {doing}.",
            "invalid_status",
        )


def _content(values: dict) -> dict:
    cleaned = {}
    for name in CONTENT_FIELDS:
        if name not in values or values[name] is None:
            continue
        text = values[name]
        if not isinstance(text, str):
            raise _invalid(name, "Give text.")
        if len(text) > FIELD_LIMIT:
            raise _invalid(name, f"At most {FIELD_LIMIT} characters.")
        cleaned[name] = text.strip()
    return cleaned


def _pdf_generated(report: RadiologyReport) -> None:
    """Draw the PDF of the report's current version and store it (earlier files stay)."""
    content = ContentFile(report_pdf_bytes(report))
    report.pdf.save(f"{report.organization_id}/{uuid.uuid4().hex}.pdf", content, save=False)
    report.pdf_version = report.version
    report.pdf_generated_at = timezone.now()


def _release_if_due(report: RadiologyReport, *, actor: User | None) -> bool:
    if report.released_at is not None or report.status not in release_statuses():
        return False
    report.released_at = timezone.now()
    domain_event_record(
        kind="report.ready",
        subject=report,
        organization=report.organization,
        actor=actor,
        payload={
            "report": report.pk,
            "patient": report.patient_id,
            "referring_doctor": report.referring_doctor_id,
            "version": report.version,
        },
    )
    return True


@transaction.atomic
def radiology_report_create(
    *,
    actor: User | None,
    appointment: Appointment,
    referring_doctor: Practitioner | None = None,
    referring_doctor_name: str = "",
    clinical_indication: str = "",
) -> RadiologyReport:
    """Open the (pending) report of a radiology appointment; one per appointment."""
    if appointment.service.category != Service.Category.RADIOLOGY:
        raise _invalid("appointment", "Only radiology appointments have reports.", "not_radiology")
    if appointment.status in (Appointment.Status.CANCELLED, Appointment.Status.REJECTED):
        raise _invalid("appointment", "The appointment did not take place.", "not_a_visit")
    if referring_doctor is not None and (
        referring_doctor.organization_id != appointment.organization_id
    ):
        raise _invalid("referring_doctor", "No such practitioner.", "does_not_exist")
    if RadiologyReport.objects.filter(appointment=appointment).exists():
        raise _conflict("This appointment already has a report.", "report_exists")
    try:
        with transaction.atomic():
            report = RadiologyReport.objects.create(
                organization=appointment.organization,
                patient=appointment.patient,
                appointment=appointment,
                modality=appointment.service.modality,
                referring_doctor=referring_doctor,
                referring_doctor_name=(referring_doctor_name or "").strip()[:200],
                clinical_indication=(clinical_indication or appointment.reason or "").strip(),
            )
    except IntegrityError as exc:
        raise _conflict("This appointment already has a report.", "report_exists") from exc
    _audit(actor, "create", report, status=report.status, appointment=appointment.pk)
    return report


@transaction.atomic
def radiology_report_start(
    *, actor: User, report: RadiologyReport, radiologist: Practitioner
) -> RadiologyReport:
    """The radiologist takes the scan: pending → in_progress."""
    report = _locked(report)
    _practitioner_checked(radiologist, report, "radiologist")
    _status_required(report, Status.PENDING, doing="started")
    report.status = Status.IN_PROGRESS
    report.radiologist = radiologist
    report.started_at = timezone.now()
    report.save(update_fields=["status", "radiologist", "started_at", "updated_at"])
    _audit(actor, "update", report, status=report.status)
    return report


@transaction.atomic
def radiology_report_save(
    *, actor: User, report: RadiologyReport, radiologist: Practitioner, **values
) -> RadiologyReport:
    """Save the draft's sections (in progress, by its radiologist; a pending report is
    taken first)."""
    report = _locked(report)
    _practitioner_checked(radiologist, report, "radiologist")
    _author_only(report, radiologist)
    _status_required(report, Status.PENDING, Status.IN_PROGRESS, doing="edited; amend it")
    content = _content(values)
    if report.status == Status.PENDING:
        report.status = Status.IN_PROGRESS
        report.radiologist = radiologist
        report.started_at = timezone.now()
    for name, value in content.items():
        setattr(report, name, value)
    report.save()
    _audit(actor, "update", report, status=report.status, fields=sorted(content))
    return report


@transaction.atomic
def radiology_report_complete(
    *, actor: User, report: RadiologyReport, radiologist: Practitioner, **values
) -> RadiologyReport:
    """Sign the report (its radiologist): in_progress → completed; findings and impression
    are required; the PDF is drawn, and the report released if the setting says so."""
    report = _locked(report)
    _practitioner_checked(radiologist, report, "radiologist")
    _author_only(report, radiologist)
    _status_required(report, Status.IN_PROGRESS, doing="completed")
    for name, value in _content(values).items():
        setattr(report, name, value)
    for name in ("findings", "impression"):
        if not getattr(report, name):
            raise _invalid(name, "Write the findings and the impression.", "required")
    report.status = Status.COMPLETED
    report.completed_at = timezone.now()
    _pdf_generated(report)
    released = _release_if_due(report, actor=actor)
    report.save()
    _version(report, actor=actor)
    _audit(actor, "update", report, status=report.status, released=released, version=1)
    return report


@transaction.atomic
def radiology_report_review(
    *, actor: User, report: RadiologyReport, reviewer: Practitioner
) -> RadiologyReport:
    """A second radiologist reviews the completed report (never its author)."""
    report = _locked(report)
    _practitioner_checked(reviewer, report, "reviewer")
    _status_required(report, Status.COMPLETED, doing="reviewed")
    if reviewer.pk == report.radiologist_id:
        raise _conflict("The author of a report cannot review it.", "reviewer_is_author")
    report.status = Status.REVIEWED
    report.reviewer = reviewer
    report.reviewed_at = timezone.now()
    _pdf_generated(report)
    released = _release_if_due(report, actor=actor)
    report.save()
    _audit(actor, "update", report, status=report.status, released=released)
    return report


@transaction.atomic
def radiology_report_amend(
    *, actor: User, report: RadiologyReport, radiologist: Practitioner, reason: str, **values
) -> RadiologyReport:
    """Change a completed or reviewed report (its radiologist): a new version with the
    reason, and a new PDF saying "Version N"."""
    reason = _reason_required(reason, what="amend this report")
    report = _locked(report)
    _practitioner_checked(radiologist, report, "radiologist")
    _author_only(report, radiologist)
    _status_required(report, Status.COMPLETED, Status.REVIEWED, doing="amended")
    content = _content(values)
    changed = {name: value for name, value in content.items() if getattr(report, name) != value}
    if not changed:
        raise _invalid("findings", "Change at least one section to amend.", "unchanged")
    for name, value in changed.items():
        setattr(report, name, value)
    for name in ("findings", "impression"):
        if not getattr(report, name):
            raise _invalid(name, "The findings and the impression cannot be empty.", "required")
    report.version += 1
    report.amended_at = timezone.now()
    _pdf_generated(report)
    report.save()
    _version(report, actor=actor, reason=reason)
    _audit(actor, "update", report, amended=True, version=report.version, fields=sorted(changed))
    return report


@transaction.atomic
def radiology_report_image_retracted(*, actor: User, attachment, reason: str) -> None:
    """After one of a signed report's files is retracted: the report is redrawn without it
    as a new version (the retraction's reason is the version's reason). A report still
    being written only shows its files once signed, so it is left as it is."""
    report = _locked(attachment.radiology_report)
    if report.status not in (Status.COMPLETED, Status.REVIEWED):
        return
    report.version += 1
    report.amended_at = timezone.now()
    _pdf_generated(report)
    report.save()
    _version(report, actor=actor, reason=f"{attachment.original_name} retracted: {reason}")
    _audit(actor, "update", report, amended=True, version=report.version, retracted=attachment.pk)


@transaction.atomic
def report_access_record(
    *,
    actor: User,
    report: RadiologyReport,
    action: str,
    ip: str | None = None,
    user_agent: str = "",
    is_patient: bool = False,
    attachment=None,
) -> ReportAccess:
    """Record one view or download of a report or (``attachment``) one of its images or
    files (who, when, IP); a download of the report counts, and the patient's first look is
    kept. Audited as a read."""
    now = timezone.now()
    access = ReportAccess.objects.create(
        organization=report.organization,
        report=report,
        user=actor,
        action=action,
        at=now,
        ip=ip or None,
        user_agent=(user_agent or "")[:512],
        report_version=report.version,
        attachment=attachment,
    )
    updates = {}
    if action == ReportAccess.Action.DOWNLOAD and attachment is None:
        RadiologyReport.objects.filter(pk=report.pk).update(download_count=F("download_count") + 1)
        report.download_count += 1
    if is_patient and report.patient_viewed_at is None:
        updates["patient_viewed_at"] = now
        RadiologyReport.objects.filter(pk=report.pk, patient_viewed_at__isnull=True).update(
            **updates
        )
        report.patient_viewed_at = now
    audit_record(
        actor=actor,
        action="read",
        organization=report.organization,
        obj=report,
        patient_id=report.patient_id,
        details={
            "report_access": action,
            "version": report.version,
            **({"attachment": attachment.pk} if attachment is not None else {}),
        },
    )
    return access

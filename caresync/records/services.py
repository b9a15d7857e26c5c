"""Writes of clinical content. Nothing is overwritten: every change appends a version (who,
when, why), a change to a signed record or note is an amendment with a reason, and
"delete" is a retraction (entered in error, with a reason). Every write is audited in the
same transaction."""

import logging
import uuid
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from caresync.accounts.models import Membership, User
from caresync.core.audit import audit_record
from caresync.core.errors import ApplicationError
from caresync.directory.models import Patient, Practitioner
from caresync.records.files import attachment_checked, safe_display_name
from caresync.records.models import (
    Attachment,
    ClinicalAccessGrant,
    ClinicalNote,
    ClinicalNoteVersion,
    ClinicalStatus,
    IcdCode,
    MedicalRecord,
    MedicalRecordVersion,
    NoteTemplate,
    RadiologyReport,
)
from caresync.records.sanitize import clinical_html
from caresync.scheduling.models import Appointment

logger = logging.getLogger(__name__)
Change = MedicalRecordVersion.Change
MIN_REASON_LENGTH = 5
ATTACHMENTS_FOLDER = "clinical"
# A stored file without its row is only an orphan once the transaction that stored it
# must have ended: an upload's transaction rolling back after the file was written.
ORPHAN_GRACE = timedelta(hours=1)
MEDICATION_ROUTES = (
    "oral",
    "sublingual",
    "topical",
    "inhaled",
    "intranasal",
    "ophthalmic",
    "rectal",
    "subcutaneous",
    "intramuscular",
    "intravenous",
    "transdermal",
    "other",
)
RECORD_FIELDS = ("diagnosis_code", "diagnosis", "treatment", "medications", "notes")
NOTE_FIELDS = (
    "note_type",
    "title",
    "body",
    "subjective",
    "objective",
    "assessment",
    "plan",
    "recipient",
)
SOAP_SECTIONS = ("subjective", "objective", "assessment", "plan")
# A radiology report takes images while it is written; once signed, its PDF shows them.
REPORT_EDITABLE = (RadiologyReport.Status.PENDING, RadiologyReport.Status.IN_PROGRESS)


def _invalid(field: str, message: str, code: str = "invalid") -> ApplicationError:
    return ApplicationError(
        message,
        code="validation_error",
        status_code=400,
        fields={field: [{"code": code, "message": message}]},
    )


def _conflict(message: str, code: str) -> ApplicationError:
    return ApplicationError(message, code=code, status_code=409)


def _reason_required(reason: str, *, what: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise _invalid("reason", f"Say why you {what} (at least {MIN_REASON_LENGTH} characters).")
    return reason


def _same_patient_appointment(appointment: Appointment | None, patient: Patient) -> None:
    if appointment is not None and appointment.patient_id != patient.pk:
        raise _invalid("appointment", "The appointment is not this patient's.")


def _author_checked(practitioner: Practitioner, patient: Patient) -> None:
    if practitioner.organization_id != patient.organization_id or not practitioner.is_active:
        raise ApplicationError(
            "Only an active practitioner of the patient's organization can write here.",
            code="not_a_practitioner",
            status_code=403,
        )


# --- Medications and diagnoses ------------------------------------------------------------


def _as_date(value, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise _invalid("medications", f"{field} must be a date (YYYY-MM-DD).") from exc


def medications_cleaned(value) -> list[dict]:
    """A medication list as stored: ``[{name, dose, route, frequency, start, stop}]``."""
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > 50:
        raise _invalid("medications", "Give a list of at most 50 medications.")
    cleaned = []
    for index, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise _invalid("medications", f"Medication {index} must be an object.")
        unknown = set(item) - {"name", "dose", "route", "frequency", "start", "stop"}
        if unknown:
            names = ", ".join(sorted(unknown))
            raise _invalid("medications", f"Unknown medication fields: {names}.")
        texts = {}
        for key, limit in (("name", 200), ("dose", 100), ("route", 30), ("frequency", 100)):
            text = item.get(key) or ""
            if not isinstance(text, str) or len(text) > limit:
                raise _invalid("medications", f"Medication {index}: {key} is too long or not text.")
            texts[key] = text.strip()
        if not texts["name"]:
            raise _invalid("medications", f"Medication {index} needs a name.")
        route = texts["route"].lower()
        if route and route not in MEDICATION_ROUTES:
            raise _invalid(
                "medications",
                f"Medication {index}: route must be one of {', '.join(MEDICATION_ROUTES)}.",
            )
        start = _as_date(item.get("start"), f"Medication {index}: start")
        stop = _as_date(item.get("stop"), f"Medication {index}: stop")
        if start and stop and stop < start:
            raise _invalid("medications", f"Medication {index} stops before it starts.")
        cleaned.append(
            {
                **texts,
                "route": route,
                "start": start.isoformat() if start else None,
                "stop": stop.isoformat() if stop else None,
            }
        )
    return cleaned


def _diagnosis_cleaned(code: str, text: str) -> tuple[str, str]:
    code = (code or "").strip().upper()
    text = (text or "").strip()
    if code:
        title = IcdCode.objects.filter(code=code).values_list("title", flat=True).first()
        if title is None:
            raise _invalid("diagnosis_code", f"{code} is not an ICD-10 code.", "unknown_code")
        text = text or title
    return code, text


def _record_values(values: dict) -> dict:
    values = dict(values)
    values["diagnosis_code"], values["diagnosis"] = _diagnosis_cleaned(
        values.get("diagnosis_code", ""), values.get("diagnosis", "")
    )
    values["medications"] = medications_cleaned(values.get("medications"))
    values["treatment"] = (values.get("treatment") or "").strip()
    values["notes"] = (values.get("notes") or "").strip()
    if not any(values[name] for name in RECORD_FIELDS):
        raise _invalid("diagnosis", "Write a diagnosis, treatment, medication or note.", "required")
    return values


def _snapshot(obj: Model, fields: tuple[str, ...]) -> dict:
    data = {name: getattr(obj, name) for name in fields}
    data["appointment"] = obj.appointment_id
    return data


def _record_version(record: MedicalRecord, *, actor: User | None, change: str, reason: str = ""):
    MedicalRecordVersion.objects.create(
        record=record,
        number=record.version,
        change=change,
        status=record.status,
        data=_snapshot(record, RECORD_FIELDS),
        changed_by=actor,
        changed_at=timezone.now(),
        reason=reason,
    )


def _audit(actor, action: str, obj, **details) -> None:
    audit_record(
        actor=actor,
        action=action,
        organization=obj.organization,
        obj=obj,
        patient_id=obj.patient_id,
        details=details,
    )


# --- Medical records ----------------------------------------------------------------------


@transaction.atomic
def medical_record_create(
    *,
    actor: User,
    patient: Patient,
    practitioner: Practitioner,
    appointment: Appointment | None = None,
    diagnosis_code: str = "",
    diagnosis: str = "",
    treatment: str = "",
    medications: list | None = None,
    notes: str = "",
    finalize: bool = False,
) -> MedicalRecord:
    """Write a medical record (a draft, or signed with ``finalize``); version 1."""
    _author_checked(practitioner, patient)
    _same_patient_appointment(appointment, patient)
    values = _record_values(
        {
            "diagnosis_code": diagnosis_code,
            "diagnosis": diagnosis,
            "treatment": treatment,
            "medications": medications,
            "notes": notes,
        }
    )
    now = timezone.now()
    record = MedicalRecord.objects.create(
        organization=patient.organization,
        patient=patient,
        practitioner=practitioner,
        appointment=appointment,
        status=ClinicalStatus.FINAL if finalize else ClinicalStatus.DRAFT,
        finalized_at=now if finalize else None,
        created_by=actor,
        **values,
    )
    _record_version(record, actor=actor, change=Change.CREATED)
    _audit(actor, "create", record, status=record.status, version=1)
    return record


@transaction.atomic
def medical_record_update(
    *, actor: User, record: MedicalRecord, reason: str = "", **changes
) -> MedicalRecord:
    """Change a record: a draft is edited, a signed record is amended (reason required).
    Either way a new version is appended; the previous one stays readable. Unchanged input
    changes nothing."""
    record = MedicalRecord.objects.select_for_update().get(pk=record.pk)
    if record.status == ClinicalStatus.ENTERED_IN_ERROR:
        raise _conflict("A retracted record cannot be changed.", "record_retracted")
    unknown = set(changes) - {*RECORD_FIELDS, "appointment"}
    if unknown:
        raise _invalid(sorted(unknown)[0], "Unknown field.", "unknown_field")
    appointment = changes.pop("appointment", record.appointment)
    _same_patient_appointment(appointment, record.patient)
    current = {name: getattr(record, name) for name in RECORD_FIELDS}
    values = _record_values({**current, **changes})
    if values == current and appointment == record.appointment:
        return record
    signed = record.status != ClinicalStatus.DRAFT
    if signed:
        reason = _reason_required(reason, what="amend a signed record")
    for name, value in values.items():
        setattr(record, name, value)
    record.appointment = appointment
    record.version += 1
    if signed:
        record.status = ClinicalStatus.AMENDED
    record.save()
    _record_version(
        record, actor=actor, change=Change.AMENDED if signed else Change.EDITED, reason=reason
    )
    changed = sorted(n for n in RECORD_FIELDS if values[n] != current[n])
    _audit(actor, "update", record, fields=changed, version=record.version, amended=signed)
    return record


@transaction.atomic
def medical_record_finalize(*, actor: User, record: MedicalRecord) -> MedicalRecord:
    """Sign a draft record: from now on changes are amendments."""
    record = MedicalRecord.objects.select_for_update().get(pk=record.pk)
    if record.status != ClinicalStatus.DRAFT:
        raise _conflict("Only a draft can be signed.", "not_a_draft")
    record.status = ClinicalStatus.FINAL
    record.finalized_at = timezone.now()
    record.version += 1
    record.save()
    _record_version(record, actor=actor, change=Change.FINALIZED)
    _audit(actor, "update", record, status=record.status, version=record.version)
    return record


@transaction.atomic
def medical_record_retract(*, actor: User, record: MedicalRecord, reason: str) -> MedicalRecord:
    """Mark a record entered in error, with a reason; it stays in the history."""
    reason = _reason_required(reason, what="retract this record")
    record = MedicalRecord.objects.select_for_update().get(pk=record.pk)
    if record.status == ClinicalStatus.ENTERED_IN_ERROR:
        raise _conflict("The record is already retracted.", "already_retracted")
    now = timezone.now()
    record.status = ClinicalStatus.ENTERED_IN_ERROR
    record.retracted_at = now
    record.retracted_by = actor
    record.retraction_reason = reason
    record.finalized_at = record.finalized_at or now
    record.version += 1
    record.save()
    _record_version(record, actor=actor, change=Change.RETRACTED, reason=reason)
    _audit(actor, "update", record, status=record.status, version=record.version, retracted=True)
    return record


# --- Clinical notes -------------------------------------------------------------------------


def _note_values(values: dict) -> dict:
    values = dict(values)
    note_type = values.get("note_type") or ClinicalNote.Type.PROGRESS
    if note_type not in ClinicalNote.Type.values:
        raise _invalid("note_type", "Unknown note type.", "invalid_choice")
    values["note_type"] = note_type
    values["title"] = (values.get("title") or "").strip()[:200]
    values["recipient"] = (values.get("recipient") or "").strip()[:200]
    for name in ("body", *SOAP_SECTIONS):
        values[name] = clinical_html(values.get(name))
    if note_type == ClinicalNote.Type.SOAP:
        values["body"] = ""
        if not any(values[name] for name in SOAP_SECTIONS):
            raise _invalid("subjective", "Write at least one of the SOAP sections.", "required")
    else:
        for name in SOAP_SECTIONS:
            values[name] = ""
        if not values["body"]:
            raise _invalid("body", "The note is empty.", "required")
    if note_type == ClinicalNote.Type.REFERRAL_LETTER and not values["recipient"]:
        raise _invalid("recipient", "Say who the referral letter is for.", "required")
    return values


def _note_version(note: ClinicalNote, *, actor: User | None, change: str, reason: str = ""):
    ClinicalNoteVersion.objects.create(
        note=note,
        number=note.version,
        change=change,
        status=note.status,
        data=_snapshot(note, NOTE_FIELDS),
        changed_by=actor,
        changed_at=timezone.now(),
        reason=reason,
    )


def _attachments_linked(actor: User, note: ClinicalNote, attachment_ids) -> None:
    ids = list(dict.fromkeys(attachment_ids or []))
    if not ids:
        return
    files = list(
        Attachment.objects.select_for_update().filter(
            pk__in=ids,
            patient=note.patient,
            uploaded_by=actor,
            note__isnull=True,
            record__isnull=True,
            radiology_report__isnull=True,
            retracted_at__isnull=True,
        )
    )
    if len(files) != len(ids):
        raise _invalid("attachments", "Attach only your own new files of this patient.")
    for attachment in files:
        attachment.note = note
        attachment.save(update_fields=["note"])
        _audit(actor, "update", attachment, note=note.pk)


@transaction.atomic
def clinical_note_create(
    *,
    actor: User,
    patient: Patient,
    author: Practitioner,
    note_type: str = ClinicalNote.Type.PROGRESS,
    title: str = "",
    body: str = "",
    subjective: str = "",
    objective: str = "",
    assessment: str = "",
    plan: str = "",
    recipient: str = "",
    appointment: Appointment | None = None,
    pinned: bool = False,
    draft: bool = False,
    attachments=(),
    uploads=(),
) -> ClinicalNote:
    """Write a note on the patient's timeline (signed unless ``draft``); rich text is
    sanitized; new files the author uploaded for the patient (``attachments``, ids) and
    files sent with the note (``uploads``) are attached, all or nothing."""
    _author_checked(author, patient)
    _same_patient_appointment(appointment, patient)
    values = _note_values(
        {
            "note_type": note_type,
            "title": title,
            "body": body,
            "subjective": subjective,
            "objective": objective,
            "assessment": assessment,
            "plan": plan,
            "recipient": recipient,
        }
    )
    note = ClinicalNote.objects.create(
        organization=patient.organization,
        patient=patient,
        author=author,
        appointment=appointment,
        pinned=pinned,
        status=ClinicalStatus.DRAFT if draft else ClinicalStatus.FINAL,
        signed_at=None if draft else timezone.now(),
        created_by=actor,
        **values,
    )
    _note_version(note, actor=actor, change=Change.CREATED)
    _audit(actor, "create", note, status=note.status, note_type=note.note_type, version=1)
    _attachments_linked(actor, note, attachments)
    for upload in uploads:
        attachment_upload(actor=actor, patient=patient, upload=upload, note=note)
    return note


@transaction.atomic
def clinical_note_update(
    *, actor: User, note: ClinicalNote, reason: str = "", attachments=(), **changes
) -> ClinicalNote:
    """Change a note: a draft is edited, a signed note is amended (reason required); a new
    version either way."""
    note = ClinicalNote.objects.select_for_update().get(pk=note.pk)
    if note.status == ClinicalStatus.ENTERED_IN_ERROR:
        raise _conflict("A retracted note cannot be changed.", "note_retracted")
    unknown = set(changes) - {*NOTE_FIELDS, "appointment"}
    if unknown:
        raise _invalid(sorted(unknown)[0], "Unknown field.", "unknown_field")
    appointment = changes.pop("appointment", note.appointment)
    _same_patient_appointment(appointment, note.patient)
    current = {name: getattr(note, name) for name in NOTE_FIELDS}
    values = _note_values({**current, **changes})
    if values == current and appointment == note.appointment:
        _attachments_linked(actor, note, attachments)
        return note
    signed = note.status != ClinicalStatus.DRAFT
    if signed:
        reason = _reason_required(reason, what="amend a signed note")
    for name, value in values.items():
        setattr(note, name, value)
    note.appointment = appointment
    note.version += 1
    if signed:
        note.status = ClinicalStatus.AMENDED
    note.save()
    _note_version(
        note, actor=actor, change=Change.AMENDED if signed else Change.EDITED, reason=reason
    )
    changed = sorted(n for n in NOTE_FIELDS if values[n] != current[n])
    _audit(actor, "update", note, fields=changed, version=note.version, amended=signed)
    _attachments_linked(actor, note, attachments)
    return note


@transaction.atomic
def clinical_note_sign(*, actor: User, note: ClinicalNote) -> ClinicalNote:
    """Sign a draft note."""
    note = ClinicalNote.objects.select_for_update().get(pk=note.pk)
    if note.status != ClinicalStatus.DRAFT:
        raise _conflict("Only a draft can be signed.", "not_a_draft")
    note.status = ClinicalStatus.FINAL
    note.signed_at = timezone.now()
    note.version += 1
    note.save()
    _note_version(note, actor=actor, change=Change.FINALIZED)
    _audit(actor, "update", note, status=note.status, version=note.version)
    return note


@transaction.atomic
def clinical_note_retract(*, actor: User, note: ClinicalNote, reason: str) -> ClinicalNote:
    """Mark a note entered in error, with a reason; it stays on the timeline, struck out."""
    reason = _reason_required(reason, what="retract this note")
    note = ClinicalNote.objects.select_for_update().get(pk=note.pk)
    if note.status == ClinicalStatus.ENTERED_IN_ERROR:
        raise _conflict("The note is already retracted.", "already_retracted")
    now = timezone.now()
    note.status = ClinicalStatus.ENTERED_IN_ERROR
    note.retracted_at = now
    note.retracted_by = actor
    note.retraction_reason = reason
    note.signed_at = note.signed_at or now
    note.pinned = False
    note.version += 1
    note.save()
    _note_version(note, actor=actor, change=Change.RETRACTED, reason=reason)
    _audit(actor, "update", note, status=note.status, version=note.version, retracted=True)
    return note


@transaction.atomic
def clinical_note_pin(*, actor: User, note: ClinicalNote, pinned: bool) -> ClinicalNote:
    """Pin a note to the top of the timeline, or unpin it (the content is unchanged)."""
    if note.status == ClinicalStatus.ENTERED_IN_ERROR and pinned:
        raise _conflict("A retracted note cannot be pinned.", "note_retracted")
    if note.pinned != pinned:
        note.pinned = pinned
        note.save(update_fields=["pinned", "updated_at"])
        _audit(actor, "update", note, pinned=pinned)
    return note


# --- Attachments ----------------------------------------------------------------------------


@transaction.atomic
def attachment_upload(
    *,
    actor: User,
    patient: Patient,
    upload,
    note: ClinicalNote | None = None,
    record: MedicalRecord | None = None,
    radiology_report: RadiologyReport | None = None,
    description: str = "",
) -> Attachment:
    """Store a file checked by content (PDF, PNG, JPEG, DICOM), with its SHA-256, under a
    random name in the private storage; optionally on a note or record of the patient, or
    on a radiology report that is still being written (pending or in progress)."""
    parents = [p for p in (note, record, radiology_report) if p is not None]
    if len(parents) > 1:
        raise _invalid("note", "Attach a file to one note, record or report.")
    parent = parents[0] if parents else None
    if parent is not None:
        if parent.patient_id != patient.pk:
            field = "note" if note else ("record" if record else "radiology_report")
            raise _invalid(field, "That belongs to another patient.")
        if radiology_report is not None:
            radiology_report = RadiologyReport.objects.select_for_update().get(pk=parent.pk)
            if radiology_report.status not in REPORT_EDITABLE:
                raise _conflict(
                    "Images can be added while the report is being written; amend a signed "
                    "report instead.",
                    "report_signed",
                )
        elif parent.status == ClinicalStatus.ENTERED_IN_ERROR:
            raise _conflict("Files cannot be added to a retracted entry.", "retracted")
    kind, digest = attachment_checked(upload, max_bytes=settings.ATTACHMENT_MAX_BYTES)
    attachment = Attachment(
        organization=patient.organization,
        patient=patient,
        note=note,
        record=record,
        radiology_report=radiology_report,
        original_name=safe_display_name(upload.name),
        kind=kind.kind,
        content_type=kind.content_type,
        size=upload.size,
        sha256=digest,
        description=(description or "").strip()[:200],
        uploaded_by=actor,
    )
    attachment.file.save(
        f"{patient.organization_id}/{uuid.uuid4().hex}.{kind.extension}", upload, save=False
    )
    stored = attachment.file.name
    try:
        attachment.save()
    except Exception:
        attachment.file.storage.delete(stored)
        raise
    _audit(
        actor,
        "create",
        attachment,
        kind=kind.kind,
        size=attachment.size,
        sha256=digest,
        **({"radiology_report": radiology_report.pk} if radiology_report else {}),
    )
    return attachment


@transaction.atomic
def attachment_retract(*, actor: User, attachment: Attachment, reason: str) -> Attachment:
    """Withdraw a file as entered in error (kept, but no longer offered)."""
    reason = _reason_required(reason, what="retract this file")
    attachment = Attachment.objects.select_for_update().get(pk=attachment.pk)
    if attachment.retracted_at is not None:
        raise _conflict("The file is already retracted.", "already_retracted")
    attachment.retracted_at = timezone.now()
    attachment.retracted_by = actor
    attachment.retraction_reason = reason
    attachment.save(update_fields=["retracted_at", "retracted_by", "retraction_reason"])
    _audit(actor, "update", attachment, retracted=True)
    if attachment.radiology_report_id is not None:
        from caresync.records.radiology import radiology_report_image_retracted

        radiology_report_image_retracted(actor=actor, attachment=attachment, reason=reason)
    return attachment


def _stored_files(storage, folder: str):
    try:
        folders, files = storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        yield f"{folder}/{name}"
    for sub in folders:
        yield from _stored_files(storage, f"{folder}/{sub}")


def attachment_orphans_delete(*, grace: timedelta = ORPHAN_GRACE, batch: int = 500) -> int:
    """Delete stored attachment files that no Attachment row names and that are older than
    ``grace`` (left by uploads whose transaction rolled back); return how many."""
    storage = Attachment._meta.get_field("file").storage
    cutoff = timezone.now() - grace
    deleted = 0
    names = list(_stored_files(storage, ATTACHMENTS_FOLDER))
    for start in range(0, len(names), batch):
        chunk = names[start : start + batch]
        known = set(Attachment.objects.filter(file__in=chunk).values_list("file", flat=True))
        for name in chunk:
            if name in known:
                continue
            try:
                if storage.get_modified_time(name) > cutoff:
                    continue
                storage.delete(name)
            except FileNotFoundError:
                continue
            deleted += 1
            logger.info("Deleted orphaned attachment file %s", name)
    return deleted


# --- Note templates -------------------------------------------------------------------------

TEMPLATE_TEXT_FIELDS = ("body", *SOAP_SECTIONS)


@transaction.atomic
def note_template_save(
    *,
    actor: User,
    organization,
    template: NoteTemplate | None = None,
    name: str,
    service=None,
    note_type: str = ClinicalNote.Type.SOAP,
    title: str = "",
    body: str = "",
    subjective: str = "",
    objective: str = "",
    assessment: str = "",
    plan: str = "",
    is_active: bool = True,
) -> NoteTemplate:
    """Create or change the organization's note template for a service (no service: the
    default); rich text is sanitized; one active template per service."""
    if template is not None and template.organization_id != organization.pk:
        raise ApplicationError("Note template not found.", code="not_found", status_code=404)
    name = (name or "").strip()
    if not name:
        raise _invalid("name", "Give the template a name.", "required")
    if len(name) > 200:
        raise _invalid("name", "At most 200 characters.")
    if service is not None and service.organization_id != organization.pk:
        raise _invalid("service", "No such service.", "does_not_exist")
    if note_type not in ClinicalNote.Type.values:
        raise _invalid("note_type", "Unknown note type.", "invalid_choice")
    texts = {
        field: clinical_html(value)
        for field, value in zip(
            TEMPLATE_TEXT_FIELDS, (body, subjective, objective, assessment, plan), strict=True
        )
    }
    if note_type == ClinicalNote.Type.SOAP:
        texts["body"] = ""
    else:
        texts.update(dict.fromkeys(SOAP_SECTIONS, ""))
    if is_active:
        clash = NoteTemplate.objects.select_for_update().filter(
            organization=organization, service=service, is_active=True
        )
        if template is not None:
            clash = clash.exclude(pk=template.pk)
        if clash.exists():
            where = f"{service.name}" if service is not None else "the organization's default"
            raise _invalid(
                "service",
                f"{where} already has an active template; deactivate it first.",
                "template_exists",
            )
    created = template is None
    if created:
        template = NoteTemplate(organization=organization)
    else:
        template = NoteTemplate.objects.select_for_update().get(pk=template.pk)
    before = {f: getattr(template, f) for f in ("name", "service_id", "note_type", "is_active")}
    template.name = name
    template.service = service
    template.note_type = note_type
    template.title = (title or "").strip()[:200]
    template.is_active = is_active
    for field, value in texts.items():
        setattr(template, field, value)
    template.save()
    after = {f: getattr(template, f) for f in ("name", "service_id", "note_type", "is_active")}
    _template_audit(
        actor,
        "create" if created else "update",
        template,
        service=template.service_id,
        changed=sorted(f for f in after if before[f] != after[f]) if not created else [],
        is_active=template.is_active,
    )
    return template


def _template_audit(actor, action: str, template: NoteTemplate, **details) -> None:
    audit_record(
        actor=actor,
        action=action,
        organization=template.organization,
        obj=template,
        details=details,
    )


@transaction.atomic
def note_template_deactivate(*, actor: User, template: NoteTemplate) -> NoteTemplate:
    """Stop offering a note template (it is kept; the service falls back to the default)."""
    template = NoteTemplate.objects.select_for_update().get(pk=template.pk)
    if not template.is_active:
        raise _conflict("The template is already inactive.", "already_inactive")
    template.is_active = False
    template.save(update_fields=["is_active"])
    _template_audit(actor, "update", template, is_active=False)
    return template


# --- Staff access grants --------------------------------------------------------------------


@transaction.atomic
def clinical_access_grant(
    *, actor: User, organization, user: User, reason: str, days: int = 7
) -> ClinicalAccessGrant:
    """Let a staff member of the organization read clinical content for ``days`` days."""
    reason = _reason_required(reason, what="grant access")
    if not Membership.objects.filter(
        organization=organization, user=user, role=Membership.Role.STAFF, is_active=True
    ).exists():
        raise _invalid("user", "Only active staff members of the organization need a grant.")
    if not 1 <= days <= 90:
        raise _invalid("days", "Grant between 1 and 90 days.")
    now = timezone.now()
    grant = ClinicalAccessGrant.objects.create(
        organization=organization,
        user=user,
        reason=reason,
        granted_by=actor,
        granted_at=now,
        expires_at=now + timedelta(days=days),
    )
    audit_record(
        actor=actor,
        action="create",
        organization=organization,
        obj=grant,
        reason=reason,
        details={"user": user.pk, "days": days},
    )
    return grant


@transaction.atomic
def clinical_access_revoke(*, actor: User, grant: ClinicalAccessGrant) -> ClinicalAccessGrant:
    """End a staff member's clinical read grant now."""
    if grant.revoked_at is not None:
        raise _conflict("The grant is already revoked.", "already_revoked")
    grant.revoked_at = timezone.now()
    grant.revoked_by = actor
    grant.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(
        actor=actor,
        action="update",
        organization=grant.organization,
        obj=grant,
        details={"revoked": True},
    )
    return grant

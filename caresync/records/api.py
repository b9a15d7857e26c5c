"""Clinical records API: seed 002's medical records (DELETE retracts), the notes timeline,
attachments (multipart upload, authorized and audited download), versions and ICD-10
search. Every read of clinical content is audited; lists audit each row shown."""

import django_filters
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from caresync.accounts.permissions import request_actor
from caresync.core import policy
from caresync.core.errors import ApplicationError
from caresync.core.policy import Actor, authorize
from caresync.core.rest import ModelSerializer, StrictSerializer
from caresync.directory.selectors import patient_list
from caresync.records.models import (
    Attachment,
    ClinicalAccessGrant,
    ClinicalNote,
    ClinicalStatus,
    IcdCode,
    MedicalRecord,
    MedicalRecordVersion,
    ReportAccess,
)
from caresync.records.radiology import report_access_record
from caresync.records.selectors import (
    attachment_list,
    clinical_access_grant_list,
    clinical_note_list,
    clinical_note_versions,
    clinical_reads_record,
    icd10_search,
    medical_record_list,
    medical_record_versions,
    practitioner_for,
)
from caresync.records.services import (
    MEDICATION_ROUTES,
    attachment_retract,
    attachment_upload,
    clinical_access_grant,
    clinical_access_revoke,
    clinical_note_create,
    clinical_note_pin,
    clinical_note_retract,
    clinical_note_sign,
    clinical_note_update,
    medical_record_create,
    medical_record_finalize,
    medical_record_retract,
    medical_record_update,
)
from caresync.scheduling.models import Appointment

# --- Shared pieces --------------------------------------------------------------------------

# What a new record or note may be: signed now, or a draft only its author sees.
NEW_ENTRY_STATUSES = [
    (ClinicalStatus.DRAFT.value, ClinicalStatus.DRAFT.label),
    (ClinicalStatus.FINAL.value, ClinicalStatus.FINAL.label),
]


def _field_error(field: str, message: str, code: str = "does_not_exist") -> ApplicationError:
    return ApplicationError(
        "Some fields are invalid.",
        code="validation_error",
        fields={field: [{"code": code, "message": message}]},
    )


def _patient(actor: Actor, pk: int):
    patient = patient_list(actor=actor).filter(pk=pk).first()
    if patient is None:
        raise _field_error("patient", "No such patient.")
    return patient


def _appointment(patient, pk: int | None) -> Appointment | None:
    if pk is None:
        return None
    appointment = Appointment.objects.filter(pk=pk, organization_id=patient.organization_id).first()
    if appointment is None or appointment.patient_id != patient.pk:
        raise _field_error("appointment", "No such appointment of this patient.")
    return appointment


def _author(actor: Actor):
    practitioner = practitioner_for(actor=actor)
    if practitioner is None:
        raise ApplicationError(
            "Only practitioners with a profile in this organization can write clinical notes.",
            code="permission_denied",
            status_code=403,
        )
    return practitioner


def _detail_rows(actor: Actor, listed, model):
    """Rows a detail URL may name: the organization's for clinic members (so a missing care
    relationship answers 403, pointing to break-glass), the listed ones for patients."""
    if actor.organization is None:
        return model.objects.none()
    if actor.roles & {policy.ORG_ADMIN, policy.PRACTITIONER, policy.STAFF}:
        return model.objects.filter(organization=actor.organization)
    return listed


class ReasonInput(StrictSerializer):
    reason = serializers.CharField(max_length=2000)


def _reason(request) -> str:
    data = request.data if hasattr(request.data, "keys") and request.data else request.query_params
    reason = ReasonInput(data={"reason": data.get("reason", "")})
    reason.is_valid(raise_exception=True)
    return reason.validated_data["reason"]


class VersionOutput(serializers.Serializer):
    number = serializers.IntegerField()
    change = serializers.CharField()
    status = serializers.CharField()
    data = serializers.JSONField()
    changed_by = serializers.CharField(source="changed_by.__str__", default="")
    changed_at = serializers.DateTimeField()
    reason = serializers.CharField()


class AttachmentSummary(ModelSerializer):
    name = serializers.CharField(source="original_name")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "name", "kind", "size", "retracted_at", "download_url"]

    def get_download_url(self, attachment) -> str:
        return f"/api/v1/attachments/{attachment.pk}/download/"


class ReadAuditedMixin:
    """List and retrieve record the clinical read (one audit row per row shown)."""

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = list(page if page is not None else queryset)
        clinical_reads_record(actor=request_actor(request), objects=rows)
        data = self.get_serializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request, *args, **kwargs):
        obj = self.get_object()
        clinical_reads_record(actor=request_actor(request), objects=[obj])
        return Response(self.get_serializer(obj).data)


# --- Medical records --------------------------------------------------------------------------


class MedicationSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    dose = serializers.CharField(max_length=100, required=False, allow_blank=True)
    route = serializers.ChoiceField(
        choices=MEDICATION_ROUTES, required=False, allow_blank=True, default=""
    )
    frequency = serializers.CharField(max_length=100, required=False, allow_blank=True)
    start = serializers.DateField(required=False, allow_null=True)
    stop = serializers.DateField(required=False, allow_null=True)


class MedicalRecordOutput(ModelSerializer):
    patient_name = serializers.CharField(source="patient.display_name", read_only=True)
    practitioner_name = serializers.CharField(source="practitioner.__str__", read_only=True)
    attachments = serializers.SerializerMethodField()

    class Meta:
        model = MedicalRecord
        fields = [
            "id",
            "patient",
            "patient_name",
            "practitioner",
            "practitioner_name",
            "appointment",
            "diagnosis_code",
            "diagnosis",
            "treatment",
            "medications",
            "notes",
            "status",
            "version",
            "created_at",
            "updated_at",
            "finalized_at",
            "retracted_at",
            "retraction_reason",
            "attachments",
        ]

    def get_attachments(self, record) -> list[dict]:
        files = [a for a in record.attachments.all() if a.retracted_at is None]
        return AttachmentSummary(files, many=True).data


RECORD_READ_ONLY = (
    "id",
    "patient_name",
    "practitioner",
    "practitioner_name",
    "status",
    "version",
    "created_at",
    "updated_at",
    "finalized_at",
    "retracted_at",
    "retraction_reason",
    "attachments",
)


class MedicalRecordInput(StrictSerializer):
    patient = serializers.IntegerField()
    appointment = serializers.IntegerField(required=False, allow_null=True)
    diagnosis_code = serializers.CharField(max_length=10, required=False, allow_blank=True)
    diagnosis = serializers.CharField(max_length=400, required=False, allow_blank=True)
    treatment = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    medications = MedicationSerializer(many=True, required=False)
    notes = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    status = serializers.ChoiceField(
        choices=NEW_ENTRY_STATUSES,
        default=ClinicalStatus.FINAL,
        help_text="`final` signs it now; a `draft` is seen by its author only.",
    )


class MedicalRecordUpdateInput(StrictSerializer):
    """PUT replaces the editable fields (missing ones become empty); PATCH changes those
    given. A signed record needs a ``reason`` and becomes ``amended``."""

    appointment = serializers.IntegerField(required=False, allow_null=True)
    diagnosis_code = serializers.CharField(max_length=10, required=False, allow_blank=True)
    diagnosis = serializers.CharField(max_length=400, required=False, allow_blank=True)
    treatment = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    medications = MedicationSerializer(many=True, required=False)
    notes = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    patient = serializers.IntegerField(read_only=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in RECORD_READ_ONLY:
            self.fields.setdefault(name, serializers.JSONField(read_only=True))


def _medications(value):
    if value is None:
        return None
    return [
        {
            **item,
            "start": item.get("start").isoformat() if item.get("start") else None,
            "stop": item.get("stop").isoformat() if item.get("stop") else None,
        }
        for item in value
    ]


class MedicalRecordFilter(django_filters.FilterSet):
    class Meta:
        model = MedicalRecord
        fields = ["patient", "practitioner", "appointment", "status", "diagnosis_code"]


class MedicalRecordViewSet(ReadAuditedMixin, viewsets.ModelViewSet):
    """Seed 002's medical records. A record is never overwritten: PUT/PATCH append a version
    (a signed record is amended, with a ``reason``); DELETE retracts it (entered in error,
    with a ``reason``), author or org admin."""

    serializer_class = MedicalRecordOutput
    filterset_class = MedicalRecordFilter
    ordering_fields = ["created_at", "updated_at"]
    search_fields = ["diagnosis", "diagnosis_code"]
    policy = {
        "list": "record.view",
        "retrieve": "record.view",
        "create": "record.create",
        "update": "record.update",
        "partial_update": "record.update",
        "destroy": "record.retract",
        "finalize": "record.update",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MedicalRecord.objects.none()
        actor = request_actor(self.request)
        listed = medical_record_list(actor=actor).prefetch_related("attachments")
        if self.action == "list":
            return listed
        return (
            _detail_rows(actor, listed, MedicalRecord)
            .select_related("patient", "practitioner__user")
            .prefetch_related("attachments")
        )

    @extend_schema(request=MedicalRecordInput, responses={201: MedicalRecordOutput})
    def create(self, request, *args, **kwargs):
        data = MedicalRecordInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        actor = request_actor(request)
        patient = _patient(actor, values.pop("patient"))
        authorize(actor, "record.create", patient)
        record = medical_record_create(
            actor=request.user,
            patient=patient,
            practitioner=_author(actor),
            appointment=_appointment(patient, values.pop("appointment", None)),
            medications=_medications(values.pop("medications", None)),
            finalize=values.pop("status") == ClinicalStatus.FINAL,
            **values,
        )
        return Response(MedicalRecordOutput(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MedicalRecordUpdateInput, responses=MedicalRecordOutput)
    def update(self, request, *args, partial=False, **kwargs):
        record = self.get_object()
        data = MedicalRecordUpdateInput(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        reason = values.pop("reason", "")
        if "medications" in values:
            values["medications"] = _medications(values["medications"])
        if "appointment" in values:
            values["appointment"] = _appointment(record.patient, values["appointment"])
        if not partial:
            for name in ("diagnosis_code", "diagnosis", "treatment", "notes"):
                values.setdefault(name, "")
            values.setdefault("medications", [])
            values.setdefault("appointment", None)
        record = medical_record_update(actor=request.user, record=record, reason=reason, **values)
        return Response(MedicalRecordOutput(record).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(
        request=ReasonInput,
        parameters=[OpenApiParameter("reason", str, required=False)],
        responses=MedicalRecordOutput,
    )
    def destroy(self, request, *args, **kwargs):
        """Retract: the record becomes ``entered_in_error`` (kept, with the reason)."""
        record = self.get_object()
        record = medical_record_retract(actor=request.user, record=record, reason=_reason(request))
        return Response(MedicalRecordOutput(record).data)

    @extend_schema(request=None, responses=MedicalRecordOutput)
    @action(detail=True, methods=["post"])
    def finalize(self, request, pk=None):
        """Sign a draft: later changes are amendments."""
        record = medical_record_finalize(actor=request.user, record=self.get_object())
        return Response(MedicalRecordOutput(record).data)


class PatientMedicalRecordsView(generics.ListAPIView):
    """Seed 002: ``GET /api/v1/patients/{id}/medical-records/``."""

    serializer_class = MedicalRecordOutput
    filterset_class = MedicalRecordFilter
    policy = {"GET": "record.view"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MedicalRecord.objects.none()
        actor = request_actor(self.request)
        patient = patient_list(actor=actor).filter(pk=self.kwargs["pk"]).first()
        if patient is None:
            raise ApplicationError("Patient not found.", code="not_found", status_code=404)
        authorize(actor, "record.view", patient)
        return medical_record_list(actor=actor).filter(patient=patient)

    def list(self, request, *args, **kwargs):
        return ReadAuditedMixin.list(self, request, *args, **kwargs)


class VersionsView(generics.ListAPIView):
    """Every version of a medical record, newest first (who, when, why, and the content)."""

    serializer_class = VersionOutput
    policy = {"GET": "record.view"}
    model = MedicalRecord
    versions = staticmethod(lambda record: medical_record_versions(record=record))

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MedicalRecordVersion.objects.none()
        actor = request_actor(self.request)
        listed = medical_record_list(actor=actor)
        record = _detail_rows(actor, listed, self.model).filter(pk=self.kwargs["pk"]).first()
        if record is None:
            raise ApplicationError("Not found.", code="not_found", status_code=404)
        authorize(actor, self.policy["GET"], record)
        clinical_reads_record(actor=actor, objects=[record], details={"versions": True})
        return self.versions(record)


# --- Clinical notes ---------------------------------------------------------------------------


class ClinicalNoteOutput(ModelSerializer):
    patient_name = serializers.CharField(source="patient.display_name", read_only=True)
    author_name = serializers.CharField(source="author.__str__", read_only=True)
    attachments = serializers.SerializerMethodField()

    class Meta:
        model = ClinicalNote
        fields = [
            "id",
            "patient",
            "patient_name",
            "author",
            "author_name",
            "appointment",
            "note_type",
            "title",
            "body",
            "subjective",
            "objective",
            "assessment",
            "plan",
            "recipient",
            "pinned",
            "status",
            "version",
            "created_at",
            "updated_at",
            "signed_at",
            "retracted_at",
            "retraction_reason",
            "attachments",
        ]

    def get_attachments(self, note) -> list[dict]:
        files = [a for a in note.attachments.all() if a.retracted_at is None]
        return AttachmentSummary(files, many=True).data


NOTE_READ_ONLY = (
    "id",
    "patient_name",
    "author",
    "author_name",
    "pinned",
    "status",
    "version",
    "created_at",
    "updated_at",
    "signed_at",
    "retracted_at",
    "retraction_reason",
)


class NoteContentInput(StrictSerializer):
    appointment = serializers.IntegerField(required=False, allow_null=True)
    note_type = serializers.ChoiceField(choices=ClinicalNote.Type.choices, required=False)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    body = serializers.CharField(max_length=100_000, required=False, allow_blank=True)
    subjective = serializers.CharField(max_length=100_000, required=False, allow_blank=True)
    objective = serializers.CharField(max_length=100_000, required=False, allow_blank=True)
    assessment = serializers.CharField(max_length=100_000, required=False, allow_blank=True)
    plan = serializers.CharField(max_length=100_000, required=False, allow_blank=True)
    recipient = serializers.CharField(max_length=200, required=False, allow_blank=True)
    attachments = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        max_length=20,
        help_text="Ids of files you uploaded for this patient and not yet attached.",
    )


class ClinicalNoteInput(NoteContentInput):
    patient = serializers.IntegerField()
    pinned = serializers.BooleanField(required=False, default=False)
    status = serializers.ChoiceField(choices=NEW_ENTRY_STATUSES, default=ClinicalStatus.FINAL)


class ClinicalNoteUpdateInput(NoteContentInput):
    """PATCH changes the fields given; PUT replaces the content. A signed note needs a
    ``reason`` and becomes ``amended``."""

    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    patient = serializers.IntegerField(read_only=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in NOTE_READ_ONLY:
            self.fields.setdefault(name, serializers.JSONField(read_only=True))


class PinInput(StrictSerializer):
    pinned = serializers.BooleanField()


class ClinicalNoteFilter(django_filters.FilterSet):
    since = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    until = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")

    class Meta:
        model = ClinicalNote
        fields = ["patient", "note_type", "author", "appointment", "status", "pinned"]


class ClinicalNoteViewSet(ReadAuditedMixin, viewsets.ModelViewSet):
    """The clinical notes timeline (seed 001): pinned first, newest first. Rich text is
    sanitized server-side. Edits append versions; DELETE retracts with a ``reason``."""

    serializer_class = ClinicalNoteOutput
    filterset_class = ClinicalNoteFilter
    ordering_fields = ["created_at"]
    search_fields = ["title"]
    policy = {
        "list": "note.view",
        "retrieve": "note.view",
        "create": "note.create",
        "update": "note.update",
        "partial_update": "note.update",
        "destroy": "note.retract",
        "sign": "note.update",
        "pin": "note.pin",
        "versions": "note.view",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ClinicalNote.objects.none()
        actor = request_actor(self.request)
        listed = clinical_note_list(actor=actor)
        if self.action == "list":
            return listed
        return (
            _detail_rows(actor, listed, ClinicalNote)
            .select_related("patient", "author__user")
            .prefetch_related("attachments")
        )

    @extend_schema(request=ClinicalNoteInput, responses={201: ClinicalNoteOutput})
    def create(self, request, *args, **kwargs):
        data = ClinicalNoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        actor = request_actor(request)
        patient = _patient(actor, values.pop("patient"))
        authorize(actor, "note.create", patient)
        note = clinical_note_create(
            actor=request.user,
            patient=patient,
            author=_author(actor),
            appointment=_appointment(patient, values.pop("appointment", None)),
            draft=values.pop("status") == ClinicalStatus.DRAFT,
            **values,
        )
        return Response(ClinicalNoteOutput(note).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ClinicalNoteUpdateInput, responses=ClinicalNoteOutput)
    def update(self, request, *args, partial=False, **kwargs):
        note = self.get_object()
        data = ClinicalNoteUpdateInput(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        reason = values.pop("reason", "")
        attachments = values.pop("attachments", [])
        if "appointment" in values:
            values["appointment"] = _appointment(note.patient, values["appointment"])
        if not partial:
            for name in ("title", "body", "subjective", "objective", "assessment", "plan"):
                values.setdefault(name, "")
            values.setdefault("recipient", "")
            values.setdefault("appointment", None)
        note = clinical_note_update(
            actor=request.user, note=note, reason=reason, attachments=attachments, **values
        )
        return Response(ClinicalNoteOutput(note).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(
        request=ReasonInput,
        parameters=[OpenApiParameter("reason", str, required=False)],
        responses=ClinicalNoteOutput,
    )
    def destroy(self, request, *args, **kwargs):
        """Retract: the note stays on the timeline as entered in error, with the reason."""
        note = clinical_note_retract(
            actor=request.user, note=self.get_object(), reason=_reason(request)
        )
        return Response(ClinicalNoteOutput(note).data)

    @extend_schema(request=None, responses=ClinicalNoteOutput)
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        note = clinical_note_sign(actor=request.user, note=self.get_object())
        return Response(ClinicalNoteOutput(note).data)

    @extend_schema(request=PinInput, responses=ClinicalNoteOutput)
    @action(detail=True, methods=["post"])
    def pin(self, request, pk=None):
        data = PinInput(data=request.data)
        data.is_valid(raise_exception=True)
        note = clinical_note_pin(
            actor=request.user, note=self.get_object(), pinned=data.validated_data["pinned"]
        )
        return Response(ClinicalNoteOutput(note).data)

    @extend_schema(responses=VersionOutput(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        """Every version of the note, newest first."""
        note = self.get_object()
        clinical_reads_record(
            actor=request_actor(request), objects=[note], details={"versions": True}
        )
        rows = clinical_note_versions(note=note)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(VersionOutput(page, many=True).data)


# --- Attachments -------------------------------------------------------------------------------


class AttachmentOutput(ModelSerializer):
    name = serializers.CharField(source="original_name")
    uploaded_by_name = serializers.CharField(source="uploaded_by.__str__", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = [
            "id",
            "patient",
            "note",
            "record",
            "radiology_report",
            "name",
            "kind",
            "content_type",
            "size",
            "sha256",
            "description",
            "uploaded_by_name",
            "uploaded_at",
            "retracted_at",
            "retraction_reason",
            "download_url",
        ]

    def get_download_url(self, attachment) -> str:
        return f"/api/v1/attachments/{attachment.pk}/download/"


class AttachmentUploadInput(StrictSerializer):
    file = serializers.FileField()
    patient = serializers.IntegerField()
    note = serializers.IntegerField(required=False, allow_null=True)
    record = serializers.IntegerField(required=False, allow_null=True)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class AttachmentViewSet(ReadAuditedMixin, viewsets.ModelViewSet):
    """Files in patients' charts. Upload (multipart) checks the type by content and the
    size; ``…/download/`` serves the file to those who may read it and audits it; nothing
    is served from a public path. DELETE retracts (uploader or org admin)."""

    serializer_class = AttachmentOutput
    filterset_fields = ["patient", "note", "record", "radiology_report", "kind"]
    ordering_fields = ["uploaded_at", "size"]
    http_method_names = ["get", "post", "delete", "head", "options"]
    parser_classes = [MultiPartParser, JSONParser]
    policy = {
        "list": "attachment.view",
        "retrieve": "attachment.view",
        "download": "attachment.view",
        "create": "attachment.upload",
        "destroy": "attachment.retract",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Attachment.objects.none()
        actor = request_actor(self.request)
        listed = attachment_list(actor=actor)
        if self.action == "list":
            return listed
        return _detail_rows(actor, listed, Attachment).select_related(
            "patient", "record", "note", "radiology_report", "uploaded_by"
        )

    @extend_schema(
        request={"multipart/form-data": AttachmentUploadInput}, responses={201: AttachmentOutput}
    )
    def create(self, request, *args, **kwargs):
        data = AttachmentUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        actor = request_actor(request)
        patient = _patient(actor, values["patient"])
        authorize(actor, "attachment.upload", patient)
        note = record = None
        if values.get("note"):
            note = ClinicalNote.objects.filter(pk=values["note"], patient=patient).first()
            if note is None:
                raise _field_error("note", "No such note of this patient.")
            authorize(actor, "note.update", note)
        if values.get("record"):
            record = MedicalRecord.objects.filter(pk=values["record"], patient=patient).first()
            if record is None:
                raise _field_error("record", "No such record of this patient.")
            authorize(actor, "record.update", record)
        attachment = attachment_upload(
            actor=request.user,
            patient=patient,
            upload=values["file"],
            note=note,
            record=record,
            description=values.get("description", ""),
        )
        return Response(AttachmentOutput(attachment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ReasonInput,
        parameters=[OpenApiParameter("reason", str, required=False)],
        responses=AttachmentOutput,
    )
    def destroy(self, request, *args, **kwargs):
        attachment = attachment_retract(
            actor=request.user, attachment=self.get_object(), reason=_reason(request)
        )
        return Response(AttachmentOutput(attachment).data)

    @extend_schema(
        parameters=[OpenApiParameter("inline", bool, description="Show an image in the page")],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The file itself, as a download (audited; a report's file is also logged as an
        access to the report); ``?inline=1`` shows an image in the page."""
        attachment = self.get_object()
        if attachment.retracted_at is not None:
            raise ApplicationError(
                "This file was retracted as entered in error.", code="retracted", status_code=410
            )
        return attachment_served(request, request_actor(request), attachment)


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def attachment_served(request, actor: Actor, attachment: Attachment) -> FileResponse:
    """Audit the read of a file (and, for a radiology report's, log the access to the
    report: who, when, IP) and return it; ``?inline=1`` shows an image in the page."""
    inline = request.GET.get("inline") in ("1", "true") and attachment.kind in IMAGE_KINDS
    clinical_reads_record(actor=actor, objects=[attachment], details={"download": not inline})
    if attachment.radiology_report is not None:
        report_access_logged(
            request,
            actor,
            attachment.radiology_report,
            ReportAccess.Action.VIEW if inline else ReportAccess.Action.DOWNLOAD,
            attachment=attachment,
        )
    return attachment_response(attachment, inline=inline)


def report_access_logged(request, actor: Actor, report, action: str, *, attachment=None) -> None:
    """Log this request's view or download of a report (or of one of its files): the user,
    IP and user agent, and whether it is the patient's own look."""
    report_access_record(
        actor=request.user,
        report=report,
        action=action,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        is_patient=request.user.is_authenticated
        and report.patient.user_id == request.user.pk
        and policy.PATIENT in actor.roles,
        attachment=attachment,
    )


IMAGE_KINDS = (Attachment.Kind.PNG, Attachment.Kind.JPEG)


def attachment_response(attachment: Attachment, *, inline: bool = False) -> FileResponse:
    """The stored file as a private, non-cached download that cannot run in the page
    (``inline``: an image shown in the page)."""
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=not inline,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["X-Checksum-SHA256"] = attachment.sha256
    return response


# --- ICD-10 and staff grants ------------------------------------------------------------------


class IcdCodeOutput(ModelSerializer):
    class Meta:
        model = IcdCode
        fields = ["code", "title", "chapter", "block", "is_leaf"]


class Icd10SearchView(APIView):
    """ICD-10 (WHO) codes by code prefix (``E11``, ``e119``) or words; at most 20."""

    policy = {"GET": "icd10.search"}

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="Code prefix or words")],
        responses=IcdCodeOutput(many=True),
    )
    def get(self, request):
        query = request.query_params.get("q", "")[:100]
        return Response({"results": IcdCodeOutput(icd10_search(query=query), many=True).data})


class GrantOutput(ModelSerializer):
    user_email = serializers.EmailField(source="user.email", read_only=True)
    active = serializers.SerializerMethodField()

    class Meta:
        model = ClinicalAccessGrant
        fields = [
            "id",
            "user",
            "user_email",
            "reason",
            "granted_at",
            "expires_at",
            "revoked_at",
            "active",
        ]

    def get_active(self, grant) -> bool:
        from django.utils import timezone

        return grant.revoked_at is None and grant.expires_at > timezone.now()


class GrantInput(StrictSerializer):
    user = serializers.IntegerField()
    reason = serializers.CharField(max_length=2000)
    days = serializers.IntegerField(min_value=1, max_value=90, default=7)


class ClinicalAccessGrantViewSet(viewsets.ReadOnlyModelViewSet):
    """Org admins let a staff member read clinical content for a while (staff see none
    otherwise); grants can be revoked."""

    serializer_class = GrantOutput
    filterset_fields = ["user"]
    policy = {
        "list": "clinical_access.manage",
        "retrieve": "clinical_access.manage",
        "create": "clinical_access.manage",
        "revoke": "clinical_access.manage",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ClinicalAccessGrant.objects.none()
        return clinical_access_grant_list(actor=request_actor(self.request))

    @extend_schema(request=GrantInput, responses={201: GrantOutput})
    def create(self, request):
        from caresync.accounts.models import User
        from caresync.accounts.selectors import require_organization

        data = GrantInput(data=request.data)
        data.is_valid(raise_exception=True)
        actor = request_actor(request)
        organization = require_organization(actor)
        user = User.objects.filter(
            pk=data.validated_data["user"], memberships__organization=organization
        ).first()
        if user is None:
            raise _field_error("user", "No such member.")
        grant = clinical_access_grant(
            actor=request.user,
            organization=organization,
            user=user,
            reason=data.validated_data["reason"],
            days=data.validated_data["days"],
        )
        return Response(GrantOutput(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=GrantOutput)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        grant = clinical_access_revoke(actor=request.user, grant=self.get_object())
        return Response(GrantOutput(grant).data)

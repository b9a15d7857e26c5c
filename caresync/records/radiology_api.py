"""Radiology reports API (seed 004): ``/api/v1/radiology-reports/`` with the status actions
``start``, ``complete``, ``review`` and ``amend``, draft saves by PATCH, and ``…/pdf/``.
Every read is audited; every view and download of a report is a ReportAccess row (who,
when, IP)."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from caresync.accounts.permissions import request_actor
from caresync.core.errors import ApplicationError
from caresync.core.policy import authorize
from caresync.core.rest import ModelSerializer, StrictSerializer
from caresync.directory.models import Practitioner
from caresync.records.api import (
    AttachmentOutput,
    AttachmentSummary,
    _detail_rows,
    report_access_logged,
)
from caresync.records.models import RadiologyReport, ReportAccess
from caresync.records.radiology import (
    radiology_report_amend,
    radiology_report_complete,
    radiology_report_create,
    radiology_report_review,
    radiology_report_save,
    radiology_report_start,
)
from caresync.records.selectors import (
    clinical_reads_record,
    practitioner_for,
    radiology_report_list,
)
from caresync.records.services import attachment_upload
from caresync.scheduling.models import Appointment

CONTENT = (
    "clinical_indication",
    "technique",
    "comparison",
    "findings",
    "impression",
    "recommendations",
)


class RadiologyReportOutput(ModelSerializer):
    radiologist = serializers.CharField(source="radiologist.__str__", default="")
    reviewer = serializers.CharField(source="reviewer.__str__", default="")
    referring_doctor = serializers.CharField(source="referring_doctor.__str__", default="")
    patient_name = serializers.CharField(source="patient.display_name")
    service = serializers.CharField(source="appointment.service.name")
    scan_at = serializers.DateTimeField(source="appointment.start")
    pdf_url = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()

    class Meta:
        model = RadiologyReport
        fields = [
            "id",
            "patient",
            "patient_name",
            "appointment",
            "service",
            "scan_at",
            "modality",
            "status",
            "radiologist",
            "reviewer",
            "referring_doctor",
            "referring_doctor_name",
            *CONTENT,
            "version",
            "pdf_version",
            "pdf_url",
            "started_at",
            "completed_at",
            "reviewed_at",
            "amended_at",
            "released_at",
            "patient_viewed_at",
            "download_count",
            "created_at",
            "attachments",
        ]

    def get_pdf_url(self, report) -> str:
        return f"/api/v1/radiology-reports/{report.pk}/pdf/" if report.pdf else ""

    @extend_schema_field(AttachmentSummary(many=True))
    def get_attachments(self, report) -> list[dict]:
        files = [a for a in report.attachments.all() if a.retracted_at is None]
        return AttachmentSummary(files, many=True).data


class ContentInput(StrictSerializer):
    clinical_indication = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    technique = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    comparison = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    findings = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    impression = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    recommendations = serializers.CharField(required=False, allow_blank=True, max_length=20000)


class ReportAttachmentInput(StrictSerializer):
    file = serializers.FileField()
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class AmendInput(ContentInput):
    reason = serializers.CharField(max_length=2000)


class CreateInput(StrictSerializer):
    appointment = serializers.IntegerField()
    referring_doctor = serializers.IntegerField(required=False, allow_null=True)
    referring_doctor_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    clinical_indication = serializers.CharField(required=False, allow_blank=True, max_length=20000)


def _field_error(field: str, message: str) -> ApplicationError:
    return ApplicationError(
        "Some fields are invalid.",
        code="validation_error",
        fields={field: [{"code": "does_not_exist", "message": message}]},
    )


def _radiologist(actor) -> Practitioner:
    practitioner = practitioner_for(actor=actor)
    if practitioner is None:
        raise ApplicationError(
            "Only practitioners with a profile in this organization can report scans.",
            code="permission_denied",
            status_code=403,
        )
    return practitioner


def report_pdf_response(request, report: RadiologyReport, *, inline: bool = False):
    """The report's PDF, logged as a view (inline) or download and audited; the patient's
    first look is kept."""
    if not report.pdf:
        raise ApplicationError(
            "The report has no PDF until it is completed.", code="no_pdf", status_code=409
        )
    report_access_logged(
        request,
        request_actor(request),
        report,
        ReportAccess.Action.VIEW if inline else ReportAccess.Action.DOWNLOAD,
    )
    name = f"radiology-report-{report.pk}-v{report.pdf_version or report.version}.pdf"
    response = FileResponse(
        report.pdf.open("rb"),
        as_attachment=not inline,
        filename=name,
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response


class RadiologyReportViewSet(viewsets.ModelViewSet):
    """Seed 004's radiology reports: one per radiology appointment, pending → in_progress →
    completed → reviewed (the reviewer is never the author); after completion a change is
    an amendment (``reason``) with a new version and PDF. Patients see their own released
    reports; the referring doctor, the author and the reviewer theirs; radiologists all of
    the organization's."""

    serializer_class = RadiologyReportOutput
    filterset_fields = ["status", "modality", "patient"]
    ordering_fields = ["created_at", "completed_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    policy = {
        "list": "radiology.view",
        "retrieve": "radiology.view",
        "pdf": "radiology.view",
        "create": "radiology.report",
        "partial_update": "radiology.report",
        "start": "radiology.report",
        "complete": "radiology.report",
        "amend": "radiology.report",
        "review": "radiology.review",
        "attachments": "radiology.attach",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return RadiologyReport.objects.none()
        actor = request_actor(self.request)
        listed = radiology_report_list(actor=actor).prefetch_related("attachments")
        if self.action == "list":
            return listed
        return (
            _detail_rows(actor, listed, RadiologyReport)
            .select_related("patient", "organization", "appointment__service", "radiologist__user")
            .prefetch_related("attachments")
        )

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = list(page if page is not None else queryset)
        clinical_reads_record(actor=request_actor(request), objects=rows)
        data = self.get_serializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request, *args, **kwargs):
        report = self.get_object()
        report_access_logged(request, request_actor(request), report, ReportAccess.Action.VIEW)
        return Response(self.get_serializer(report).data)

    @extend_schema(request=CreateInput, responses={201: RadiologyReportOutput})
    def create(self, request, *args, **kwargs):
        data = CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        actor = request_actor(request)
        appointment = (
            Appointment.objects.filter(pk=values["appointment"], organization=actor.organization)
            .select_related("service", "patient")
            .first()
        )
        if appointment is None:
            raise _field_error("appointment", "No such appointment.")
        authorize(actor, "radiology.report", appointment)
        referrer = None
        if values.get("referring_doctor"):
            referrer = Practitioner.objects.filter(
                pk=values["referring_doctor"], organization=actor.organization
            ).first()
            if referrer is None:
                raise _field_error("referring_doctor", "No such practitioner.")
        report = radiology_report_create(
            actor=request.user,
            appointment=appointment,
            referring_doctor=referrer,
            referring_doctor_name=values.get("referring_doctor_name", ""),
            clinical_indication=values.get("clinical_indication", ""),
        )
        return Response(RadiologyReportOutput(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ContentInput, responses=RadiologyReportOutput)
    def partial_update(self, request, *args, **kwargs):
        """Save the draft's sections (its radiologist; takes a pending report)."""
        return self._with_content(request, radiology_report_save)

    def _with_content(self, request, service):
        """Call ``service`` with the report, the acting radiologist and the sections sent."""
        report = self.get_object()
        data = ContentInput(data=request.data)
        data.is_valid(raise_exception=True)
        report = service(
            actor=request.user,
            report=report,
            radiologist=_radiologist(request_actor(request)),
            **data.validated_data,
        )
        return Response(RadiologyReportOutput(report).data)

    @extend_schema(request=None, responses=RadiologyReportOutput)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """Take the scan: pending → in_progress."""
        report = radiology_report_start(
            actor=request.user,
            report=self.get_object(),
            radiologist=_radiologist(request_actor(request)),
        )
        return Response(RadiologyReportOutput(report).data)

    @extend_schema(request=ContentInput, responses=RadiologyReportOutput)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """Sign: in_progress → completed (findings and impression required); draws the PDF
        and releases the report unless release waits for review."""
        return self._with_content(request, radiology_report_complete)

    @extend_schema(request=None, responses=RadiologyReportOutput)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """Review: completed → reviewed (never by the author: 409)."""
        report = radiology_report_review(
            actor=request.user,
            report=self.get_object(),
            reviewer=_radiologist(request_actor(request)),
        )
        return Response(RadiologyReportOutput(report).data)

    @extend_schema(request=AmendInput, responses=RadiologyReportOutput)
    @action(detail=True, methods=["post"])
    def amend(self, request, pk=None):
        """Amend a completed or reviewed report with a reason: version + 1, new PDF."""
        report = self.get_object()
        data = AmendInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        reason = values.pop("reason")
        report = radiology_report_amend(
            actor=request.user,
            report=report,
            radiologist=_radiologist(request_actor(request)),
            reason=reason,
            **values,
        )
        return Response(RadiologyReportOutput(report).data)

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        """The PDF (download; ``?inline=1`` to view), logged in ReportAccess and audited."""
        inline = request.query_params.get("inline") in ("1", "true")
        return report_pdf_response(request, self.get_object(), inline=inline)

    @extend_schema(
        request={"multipart/form-data": ReportAttachmentInput}, responses={201: AttachmentOutput}
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def attachments(self, request, pk=None):
        """Add an image or file (PNG, JPEG, DICOM, PDF; checked by content) to a report
        still being written: its radiologist or an org admin. Released with the report."""
        report = self.get_object()
        data = ReportAttachmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        attachment = attachment_upload(
            actor=request.user,
            patient=report.patient,
            upload=data.validated_data["file"],
            radiology_report=report,
            description=data.validated_data.get("description", ""),
        )
        return Response(AttachmentOutput(attachment).data, status=status.HTTP_201_CREATED)

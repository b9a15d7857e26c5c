"""Radiology pages: the radiologists' worklist (unreported scans by modality and age,
turnaround of the latest reports), the report editor (save, complete, review, amend) and
the patient portal's "My reports" with PDF downloads. Every page that shows patients'
reports or scans audits the rows it shows."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from caresync.accounts.permissions import web_actor
from caresync.accounts.views import authorize_page, form_errors_from
from caresync.core.errors import ApplicationError
from caresync.core.policy import can
from caresync.directory.models import Modality
from caresync.records.access import clinic_reader
from caresync.records.api import report_access_logged
from caresync.records.models import RadiologyReport, ReportAccess
from caresync.records.radiology import (
    radiology_report_amend,
    radiology_report_complete,
    radiology_report_create,
    radiology_report_review,
    radiology_report_save,
    radiology_report_start,
)
from caresync.records.radiology_api import report_pdf_response
from caresync.records.selectors import (
    clinical_reads_record,
    practitioner_for,
    radiology_recently_reported,
    radiology_report_list,
    radiology_worklist,
)
from caresync.records.services import REPORT_EDITABLE, attachment_upload
from caresync.scheduling.models import Appointment
from caresync.web.forms import StyledForm

SECTION_FIELDS = (
    "clinical_indication",
    "technique",
    "comparison",
    "findings",
    "impression",
    "recommendations",
)


class ReportForm(StyledForm):
    clinical_indication = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 2})
    )
    technique = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 2})
    )
    comparison = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 2})
    )
    findings = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 6})
    )
    impression = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 3})
    )
    recommendations = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 2})
    )
    reason = forms.CharField(
        required=False,
        max_length=2000,
        label="Reason for amendment",
        help_text="Needed to amend a completed report.",
    )


class ModalityFilter(StyledForm):
    modality = forms.ChoiceField(
        required=False, choices=[("", "All modalities"), *Modality.choices]
    )


def _age(delta) -> str:
    hours = int(delta.total_seconds() // 3600)
    if hours < 48:
        return f"{max(hours, 0)} h"
    return f"{hours // 24} d"


@login_required
def worklist(request):
    actor = authorize_page(request, "radiology.report")
    filters = ModalityFilter(request.GET or None)
    modality = filters.cleaned_data["modality"] if filters.is_valid() else ""
    scans = radiology_worklist(actor=actor, modality=modality)
    reported = radiology_recently_reported(actor=actor, modality=modality)
    for scan in scans:
        scan.age_label = _age(scan.age)
    for report in reported:
        report.turnaround_label = _age(report.turnaround)
    clinical_reads_record(actor=actor, objects=[*scans, *reported], details={"worklist": True})
    return render(
        request,
        "records/radiology/worklist.html",
        {"scans": scans, "reported": reported, "filters": filters},
    )


@login_required
@require_POST
def report_open(request, appointment_pk: int):
    """Open (and take) the report of a scan from the worklist."""
    actor = web_actor(request)
    if actor.organization is None:
        raise Http404
    appointment = get_object_or_404(
        Appointment.objects.filter(organization=actor.organization), pk=appointment_pk
    )
    authorize_page(request, "radiology.report", appointment)
    radiologist = practitioner_for(actor=actor)
    report = RadiologyReport.objects.filter(appointment=appointment).first()
    try:
        if report is None:
            report = radiology_report_create(actor=request.user, appointment=appointment)
        if report.status == RadiologyReport.Status.PENDING:
            authorize_page(request, "radiology.report", report)
            report = radiology_report_start(
                actor=request.user, report=report, radiologist=radiologist
            )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("radiology-worklist")
    return redirect("radiology-report", pk=report.pk)


def _org_report(actor, pk: int) -> RadiologyReport:
    if actor.organization is None:
        raise Http404
    return get_object_or_404(
        RadiologyReport.objects.filter(organization=actor.organization)
        .select_related("patient", "appointment__service", "radiologist__user", "reviewer__user")
        .prefetch_related("attachments"),
        pk=pk,
    )


@login_required
def report_editor(request, pk: int):
    actor = web_actor(request)
    report = _org_report(actor, pk)
    authorize_page(request, "radiology.view", report)
    if not clinic_reader(actor):
        raise PermissionDenied("Patients read their reports under My reports.")
    radiologist = practitioner_for(actor=actor)
    initial = {name: getattr(report, name) for name in SECTION_FIELDS}
    form = ReportForm(request.POST or None, initial=initial)
    if request.method == "POST":
        step = request.POST.get("step", "save")
        permission = "radiology.review" if step == "review" else "radiology.report"
        authorize_page(request, permission, report)
        if form.is_valid():
            values = {name: form.cleaned_data[name] for name in SECTION_FIELDS}
            try:
                if step == "complete":
                    radiology_report_complete(
                        actor=request.user, report=report, radiologist=radiologist, **values
                    )
                    messages.success(request, "Report completed and signed.")
                elif step == "review":
                    radiology_report_review(actor=request.user, report=report, reviewer=radiologist)
                    messages.success(request, "Report reviewed.")
                elif step == "amend":
                    radiology_report_amend(
                        actor=request.user,
                        report=report,
                        radiologist=radiologist,
                        reason=form.cleaned_data["reason"],
                        **values,
                    )
                    messages.success(request, "Report amended; a new PDF version was made.")
                else:
                    radiology_report_save(
                        actor=request.user, report=report, radiologist=radiologist, **values
                    )
                    messages.success(request, "Draft saved.")
                return redirect("radiology-report", pk=report.pk)
            except ApplicationError as exc:
                form_errors_from(form, exc)
    else:
        report_access_logged(request, actor, report, ReportAccess.Action.VIEW)
    signed = report.status in (RadiologyReport.Status.COMPLETED, RadiologyReport.Status.REVIEWED)
    files = _report_files(report)
    context = {
        "report": report,
        "form": form,
        "signed": signed,
        "can_write": can(actor, "radiology.report", report),
        "can_review": report.status == RadiologyReport.Status.COMPLETED
        and can(actor, "radiology.review", report)
        and (radiologist is None or radiologist.pk != report.radiologist_id),
        "accesses": report.accesses.select_related("user", "attachment")[:20],
        "files": files,
        "can_attach": report.status in REPORT_EDITABLE and can(actor, "radiology.attach", report),
        "max_upload_mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024),
    }
    return render(request, "records/radiology/editor.html", context)


def _report_files(report: RadiologyReport) -> list:
    """The report's files still offered, oldest first (shown as thumbnails or links)."""
    return [
        a
        for a in sorted(report.attachments.all(), key=lambda a: (a.uploaded_at, a.pk))
        if a.retracted_at is None
    ]


@login_required
@require_POST
def report_attach(request, pk: int):
    """Add images or files to a report being written (the form's fallback without script;
    with it, each file goes to the API with a progress bar)."""
    actor = web_actor(request)
    report = _org_report(actor, pk)
    authorize_page(request, "radiology.attach", report)
    uploads = request.FILES.getlist("files")
    if not uploads:
        messages.error(request, "Choose at least one file.")
    added = 0
    for upload in uploads:
        try:
            attachment_upload(
                actor=request.user, patient=report.patient, upload=upload, radiology_report=report
            )
        except ApplicationError as exc:
            messages.error(request, f"{upload.name}: {exc.message}")
        else:
            added += 1
    if added:
        messages.success(request, f"{added} file{'s' if added != 1 else ''} added to the report.")
    return redirect("radiology-report", pk=report.pk)


@login_required
def my_reports(request):
    actor = authorize_page(request, "radiology.view")
    reports = list(
        radiology_report_list(actor=actor)
        .filter(patient__user=request.user, released_at__isnull=False)
        .prefetch_related("attachments")
        .order_by("-completed_at")
    )
    clinical_reads_record(actor=actor, objects=reports, details={"portal": True})
    for report in reports:
        report.files = _report_files(report)
    patient = reports[0].patient if reports else None
    return render(
        request, "records/radiology/my_reports.html", {"reports": reports, "patient": patient}
    )


@login_required
def report_pdf(request, pk: int):
    actor = web_actor(request)
    report = _org_report(actor, pk)
    if not radiology_report_list(actor=actor).filter(pk=pk).exists() and not can(
        actor, "radiology.view", report
    ):
        raise Http404
    authorize_page(request, "radiology.view", report)
    try:
        return report_pdf_response(request, report, inline=request.GET.get("inline") == "1")
    except ApplicationError as exc:
        raise Http404(exc.message) from exc

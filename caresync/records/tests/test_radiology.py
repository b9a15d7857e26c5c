import io

import pytest
from django.db import IntegrityError, transaction
from pypdf import PdfReader

from caresync.core.errors import ApplicationError
from caresync.core.models import AuditEvent
from caresync.notifications.models import OutboxEvent
from caresync.records.models import RadiologyReport, RadiologyReportVersion, ReportAccess
from caresync.records.radiology import (
    radiology_report_amend,
    radiology_report_complete,
    radiology_report_create,
    radiology_report_review,
    radiology_report_save,
    radiology_report_start,
    report_access_record,
)

FINDINGS = {
    "technique": "Sagittal and axial PD fat-saturated sequences.",
    "findings": "Complex tear of the posterior horn of the medial meniscus.",
    "impression": "Medial meniscal tear.",
}


def pdf_text(report) -> str:
    with report.pdf.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    return "\n".join(page.extract_text() for page in reader.pages)


def completed(department, **values):
    user = department.radiologist.user
    report = radiology_report_create(
        actor=user, appointment=department.scan, referring_doctor=department.referrer
    )
    report = radiology_report_start(actor=user, report=report, radiologist=department.radiologist)
    return radiology_report_complete(
        actor=user, report=report, radiologist=department.radiologist, **{**FINDINGS, **values}
    )


def test_a_report_goes_from_pending_to_reviewed_and_every_step_is_audited(department):
    user = department.radiologist.user
    report = radiology_report_create(actor=user, appointment=department.scan)
    assert report.status == "pending" and report.modality == "MR"
    report = radiology_report_start(actor=user, report=report, radiologist=department.radiologist)
    report = radiology_report_save(
        actor=user, report=report, radiologist=department.radiologist, findings="Draft"
    )
    assert report.status == "in_progress" and report.pdf == ""
    report = radiology_report_complete(
        actor=user, report=report, radiologist=department.radiologist, **FINDINGS
    )
    report = radiology_report_review(
        actor=department.second_radiologist.user,
        report=report,
        reviewer=department.second_radiologist,
    )
    assert report.status == "reviewed" and report.reviewed_at is not None
    versions = RadiologyReportVersion.objects.filter(report=report)
    assert list(versions.values_list("number", "status")) == [(1, "completed")]
    actions = AuditEvent.objects.filter(
        object_type="records.radiologyreport", object_id=str(report.pk)
    ).values_list("action", flat=True)
    assert sorted(actions) == ["create", "update", "update", "update", "update"]


def test_only_radiology_appointments_get_a_report_and_only_one(department):
    consult = department.mri
    consult.category = "in_person"
    consult.save()
    with pytest.raises(ApplicationError) as refused:
        radiology_report_create(actor=None, appointment=department.scan)
    assert refused.value.status_code == 400
    consult.category = "radiology"
    consult.save()
    radiology_report_create(actor=None, appointment=department.scan)
    with pytest.raises(ApplicationError) as twice:
        radiology_report_create(actor=None, appointment=department.scan)
    assert twice.value.code == "report_exists"
    assert RadiologyReport.objects.count() == 1


def test_completing_needs_findings_and_an_impression(department):
    user = department.radiologist.user
    report = radiology_report_create(actor=user, appointment=department.scan)
    report = radiology_report_start(actor=user, report=report, radiologist=department.radiologist)
    with pytest.raises(ApplicationError) as refused:
        radiology_report_complete(
            actor=user, report=report, radiologist=department.radiologist, findings="Normal."
        )
    assert "impression" in refused.value.fields
    report.refresh_from_db()
    assert report.status == "in_progress" and report.findings == ""


def test_another_radiologist_cannot_write_a_taken_report(department):
    user = department.radiologist.user
    report = radiology_report_create(actor=user, appointment=department.scan)
    report = radiology_report_start(actor=user, report=report, radiologist=department.radiologist)
    with pytest.raises(ApplicationError) as refused:
        radiology_report_save(
            actor=department.second_radiologist.user,
            report=report,
            radiologist=department.second_radiologist,
            findings="Mine now",
        )
    assert refused.value.code == "not_the_author"


def test_the_author_cannot_review_their_own_report_and_the_database_agrees(department):
    report = completed(department)
    with pytest.raises(ApplicationError) as refused:
        radiology_report_review(
            actor=department.radiologist.user, report=report, reviewer=department.radiologist
        )
    assert refused.value.code == "reviewer_is_author"
    report.refresh_from_db()
    assert report.status == "completed"
    with pytest.raises(IntegrityError), transaction.atomic():
        RadiologyReport.objects.filter(pk=report.pk).update(reviewer=department.radiologist)


def test_the_pdf_has_letterhead_patient_identifiers_signature_version_and_page_numbers(
    department,
):
    report = completed(department)
    text = pdf_text(report)
    patient = department.patient
    for expected in (
        department.tenant.organization.name,
        "1 Harbour St, Sydney NSW 2000",
        patient.display_name,
        patient.mrn,
        "10 Dec 1985",
        "Medial meniscal tear.",
        f"Reported by {department.radiologist}",
        "Version 1",
        "Page 1 of 1",
    ):
        assert expected in text
    assert report.pdf_version == 1


def test_an_amendment_is_a_new_version_with_its_reason_and_a_regenerated_pdf(department):
    report = completed(department)
    first_pdf = report.pdf.name
    amended = radiology_report_amend(
        actor=department.radiologist.user,
        report=report,
        radiologist=department.radiologist,
        reason="Laterality corrected",
        impression="Lateral meniscal tear.",
    )
    assert amended.version == 2 and amended.pdf_version == 2
    assert amended.pdf.name != first_pdf
    text = pdf_text(amended)
    assert "Version 2" in text and "Lateral meniscal tear." in text
    version = RadiologyReportVersion.objects.get(report=amended, number=2)
    assert version.reason == "Laterality corrected"
    assert version.data["impression"] == "Lateral meniscal tear."


def test_an_amendment_needs_a_reason_and_a_change(department):
    report = completed(department)
    kwargs = {"actor": department.radiologist.user, "radiologist": department.radiologist}
    with pytest.raises(ApplicationError):
        radiology_report_amend(report=report, reason="", impression="Other.", **kwargs)
    with pytest.raises(ApplicationError):
        radiology_report_amend(
            report=report, reason="No change at all", impression=FINDINGS["impression"], **kwargs
        )
    report.refresh_from_db()
    assert report.version == 1


def test_completion_releases_the_report_and_emits_report_ready(department):
    report = completed(department)
    assert report.released_at is not None
    event = OutboxEvent.objects.get(kind="report.ready")
    assert event.subject == f"radiologyreport:{report.pk}"
    assert event.payload["patient"] == department.patient.pk
    assert event.payload["referring_doctor"] == department.referrer.pk


def test_with_release_after_review_the_patient_waits_for_the_review(department, settings):
    settings.RADIOLOGY_RELEASE_AFTER = "reviewed"
    report = completed(department)
    assert report.released_at is None
    assert not OutboxEvent.objects.filter(kind="report.ready").exists()
    report = radiology_report_review(
        actor=department.second_radiologist.user,
        report=report,
        reviewer=department.second_radiologist,
    )
    assert report.released_at is not None
    assert OutboxEvent.objects.filter(kind="report.ready").count() == 1


def test_a_download_is_logged_counted_and_marks_the_patients_first_view(department):
    report = completed(department)
    patient_user = department.tenant.patient
    report_access_record(
        actor=patient_user, report=report, action="download", ip="203.0.113.9", is_patient=True
    )
    first_view = RadiologyReport.objects.get(pk=report.pk).patient_viewed_at
    report_access_record(actor=department.referrer.user, report=report, action="download")
    report.refresh_from_db()
    assert report.download_count == 2
    assert report.patient_viewed_at == first_view is not None
    access = ReportAccess.objects.filter(report=report).order_by("at", "id").first()
    assert (access.user, access.action, str(access.ip)) == (patient_user, "download", "203.0.113.9")
    assert (
        AuditEvent.objects.filter(action="read", object_type="records.radiologyreport").count() == 2
    )

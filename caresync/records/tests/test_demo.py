"""Demo clinical data: notes and records for completed visits, idempotent."""

import pytest

from caresync.records import demo
from caresync.records.models import Attachment, ClinicalNote, MedicalRecord, NoteTemplate

pytestmark = pytest.mark.django_db


def test_demo_documents_completed_visits_once(chart):
    organization = chart.tenant.organization
    organization.slug = "harbour-health"
    organization.save()
    chart.service.name = "GP consultation (30 min)"
    chart.service.save()
    demo.seed(lambda message: None)

    assert ClinicalNote.objects.filter(appointment=chart.visit, note_type="soap").exists()
    record = MedicalRecord.objects.get(appointment=chart.visit)
    assert record.status == "final" and record.diagnosis_code == "J45.9"
    assert Attachment.objects.get(record=record).kind == "pdf"
    assert ClinicalNote.objects.filter(pinned=True, note_type="admin").exists()
    assert ClinicalNote.objects.filter(status="entered_in_error").exists()
    assert NoteTemplate.objects.filter(service=chart.service, note_type="soap").exists()

    counts = (ClinicalNote.objects.count(), MedicalRecord.objects.count())
    demo.seed(lambda message: None)
    assert (ClinicalNote.objects.count(), MedicalRecord.objects.count()) == counts


def test_the_demo_pdf_is_a_pdf_that_names_the_patient():
    pdf = demo.demo_pdf(["Patient: Ada Lovelace (HH-000001)"])
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert b"(Patient: Ada Lovelace \\(HH-000001\\)) '" in pdf
    start = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[start:].startswith(b"xref")


def test_demo_radiology_reports_cover_every_status_with_pdfs_once(department):
    from datetime import UTC, datetime

    from caresync.records.models import RadiologyReport

    organization = department.tenant.organization
    organization.slug = "harbour-health"
    organization.save()
    for day in range(3, 7):
        department.appointment(start=datetime(2026, 3, day, 9, tzinfo=UTC))
    demo.seed(lambda message: None)

    reports = RadiologyReport.objects.filter(organization=organization)
    assert set(reports.values_list("status", flat=True)) == {
        "pending",
        "in_progress",
        "completed",
        "reviewed",
    }
    signed = reports.filter(status__in=["completed", "reviewed"])
    assert signed.count() == 3 and all(report.pdf for report in signed)
    assert reports.filter(version=2, pdf_version=2).count() == 1
    images = Attachment.objects.filter(radiology_report__in=signed, kind="png")
    assert images.count() == 3
    with signed.first().pdf.open("rb") as handle:
        assert b"/Subtype /Image" in handle.read()
    demo.seed(lambda message: None)
    assert RadiologyReport.objects.count() == 5

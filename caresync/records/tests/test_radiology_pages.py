from datetime import UTC, datetime

import time_machine

from caresync.core.models import AuditEvent
from caresync.records.models import RadiologyReport, ReportAccess
from caresync.records.tests.test_radiology import FINDINGS, completed

NOW = datetime(2026, 3, 4, 12, tzinfo=UTC)


@time_machine.travel(NOW, tick=False)
def test_the_worklist_shows_unreported_scans_with_age_and_reported_ones_with_turnaround(
    department, client
):
    department.appointment(start=datetime(2026, 3, 1, 9, tzinfo=UTC))  # not reported
    client.force_login(department.radiologist.user)
    report = completed(department)  # the 2 March scan
    page = client.get("/radiology/")
    assert page.status_code == 200
    scans = page.context["scans"]
    assert [scan.start.day for scan in scans] == [1]
    assert scans[0].age_label == "3 d"
    assert [r.pk for r in page.context["reported"]] == [report.pk]
    assert "Ada Lovelace" in page.content.decode()
    assert AuditEvent.objects.filter(action="read", details__worklist=True).count() == 2


@time_machine.travel(NOW, tick=False)
def test_a_radiologist_reports_a_scan_from_the_worklist_to_a_signed_pdf(department, client):
    client.force_login(department.radiologist.user)
    opened = client.post(f"/radiology/scans/{department.scan.pk}/report/")
    report = RadiologyReport.objects.get(appointment=department.scan)
    assert opened.url == f"/radiology/reports/{report.pk}/"
    assert report.status == "in_progress" and report.radiologist == department.radiologist
    refused = client.post(opened.url, {"step": "complete", "findings": "Only findings"})
    assert refused.status_code == 200 and "impression" in refused.context["form"].errors
    signed = client.post(opened.url, {"step": "complete", **FINDINGS})
    assert signed.status_code == 302
    report.refresh_from_db()
    assert report.status == "completed" and report.pdf


def test_my_reports_lists_only_the_patients_released_reports_and_downloads_the_pdf(
    department, client
):
    report = completed(department)
    other_scan = department.appointment(department.other_patient)
    RadiologyReport.objects.create(
        organization=other_scan.organization,
        patient=department.other_patient,
        appointment=other_scan,
    )
    client.force_login(department.tenant.patient)
    page = client.get("/my-reports/")
    assert [r.pk for r in page.context["reports"]] == [report.pk]
    assert "My reports" in page.content.decode()
    download = client.get(f"/radiology/reports/{report.pk}/pdf/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert ReportAccess.objects.get(report=report).action == "download"


def test_a_patient_cannot_open_the_editor_or_another_patients_pdf(department, client):
    report = completed(department)
    client.force_login(department.tenant.other_patient)
    assert client.get(f"/radiology/reports/{report.pk}/pdf/").status_code in (403, 404)
    assert client.get(f"/radiology/reports/{report.pk}/").status_code == 403
    assert client.get("/radiology/").status_code == 403
    assert not ReportAccess.objects.exists()


def test_the_patient_reads_their_report_in_the_portal_not_the_editor_with_its_access_log(
    department, client
):
    report = completed(department)
    client.force_login(department.tenant.patient)
    assert client.get(f"/radiology/reports/{report.pk}/").status_code == 403
    assert not ReportAccess.objects.exists()

from caresync.records.models import RadiologyReport, ReportAccess
from caresync.records.tests.test_radiology import FINDINGS, completed

API = "/api/v1/radiology-reports/"


def test_a_radiologist_reports_a_scan_through_the_api_from_pending_to_reviewed(department, api_as):
    client = api_as(department.radiologist.user)
    created = client.post(API, {"appointment": department.scan.pk}, format="json")
    assert created.status_code == 201, created.content
    url = f"{API}{created.json()['id']}/"
    assert client.post(f"{url}start/").json()["status"] == "in_progress"
    assert client.patch(url, {"findings": "Draft"}, format="json").json()["findings"] == "Draft"
    done = client.post(f"{url}complete/", FINDINGS, format="json")
    assert done.status_code == 200 and done.json()["pdf_url"] == f"{url}pdf/"
    own_review = client.post(f"{url}review/")
    assert own_review.status_code == 409
    assert own_review.json()["error"]["code"] == "reviewer_is_author"
    reviewed = api_as(department.second_radiologist.user).post(f"{url}review/")
    assert reviewed.json()["status"] == "reviewed"


def test_unknown_fields_and_bad_transitions_are_refused_without_change(department, api_as):
    client = api_as(department.radiologist.user)
    created = client.post(API, {"appointment": department.scan.pk, "colour": "red"}, format="json")
    assert created.status_code == 400
    assert not RadiologyReport.objects.exists()
    report_id = client.post(API, {"appointment": department.scan.pk}, format="json").json()["id"]
    refused = client.post(f"{API}{report_id}/review/")
    assert refused.status_code == 409
    assert RadiologyReport.objects.get(pk=report_id).status == "pending"


def test_patients_see_only_their_own_released_reports(department, api_as, settings):
    settings.RADIOLOGY_RELEASE_AFTER = "reviewed"
    report = completed(department)
    client = api_as(department.tenant.patient)
    assert client.get(API).json()["results"] == []
    assert client.get(f"{API}{report.pk}/pdf/").status_code == 404
    settings.RADIOLOGY_RELEASE_AFTER = "completed"
    report.released_at = report.completed_at
    report.save()
    assert [row["id"] for row in client.get(API).json()["results"]] == [report.pk]
    other = api_as(department.tenant.other_patient)
    assert other.get(f"{API}{report.pk}/").status_code == 404


def test_a_patients_pdf_download_is_logged_with_ip_and_marks_the_first_view(department, api_as):
    report = completed(department)
    client = api_as(department.tenant.patient)
    response = client.get(f"{API}{report.pk}/pdf/", REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    report.refresh_from_db()
    assert report.download_count == 1 and report.patient_viewed_at is not None
    access = ReportAccess.objects.get(report=report)
    assert (access.user, access.action, access.ip) == (
        department.tenant.patient,
        "download",
        "198.51.100.7",
    )


def test_the_referring_doctor_reads_the_report_but_an_unrelated_doctor_does_not(department, api_as):
    report = completed(department)
    referrer = api_as(department.referrer.user)
    assert referrer.get(f"{API}{report.pk}/pdf/").status_code == 200
    unrelated = api_as(department.unrelated_doctor.user)
    assert unrelated.get(f"{API}{report.pk}/").status_code == 403
    assert unrelated.get(API).json()["results"] == []


def test_another_organization_gets_404_for_the_report(department, api_as, tenant_b):
    report = completed(department)
    assert api_as(tenant_b.admin).get(f"{API}{report.pk}/").status_code == 404
    assert api_as(tenant_b.doctor).get(f"{API}{report.pk}/pdf/").status_code == 404
    assert not ReportAccess.objects.exists()

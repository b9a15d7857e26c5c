"""Images and files on radiology reports: added by the report's radiologist (or an org
admin) while it is being written, checked by content like every attachment, embedded in
the signed PDF (PNG, JPEG; others listed by name), shown to the patient only once the
report is released, and every download audited and logged as an access to the report."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from caresync.core.models import AuditEvent
from caresync.records.models import Attachment, RadiologyReport, ReportAccess
from caresync.records.radiology import (
    radiology_report_complete,
    radiology_report_create,
    radiology_report_start,
)
from caresync.records.tests.conftest import DICOM_BYTES, image_bytes
from caresync.records.tests.test_radiology import FINDINGS, pdf_text

pytestmark = pytest.mark.django_db
API = "/api/v1/radiology-reports/"


def in_progress(department):
    user = department.radiologist.user
    report = radiology_report_create(
        actor=user, appointment=department.scan, referring_doctor=department.referrer
    )
    return radiology_report_start(actor=user, report=report, radiologist=department.radiologist)


def attach(client, report, name="knee-sagittal.png", content=None, **fields):
    return client.post(
        f"{API}{report.pk}/attachments/",
        {"file": SimpleUploadedFile(name, content or image_bytes("PNG")), **fields},
        format="multipart",
    )


def sign(department, report):
    return radiology_report_complete(
        actor=department.radiologist.user,
        report=report,
        radiologist=department.radiologist,
        **FINDINGS,
    )


def test_the_radiologist_adds_an_image_which_is_audited_and_listed_on_the_report(
    department, api_as
):
    report = in_progress(department)
    client = api_as(department.radiologist.user)
    response = attach(client, report, description="Sagittal PD")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["radiology_report"] == report.pk and body["kind"] == "png"
    attachment = Attachment.objects.get()
    assert attachment.radiology_report == report and attachment.patient == department.patient
    assert attachment.file.name.startswith(f"clinical/{department.tenant.organization.pk}/")
    created = AuditEvent.objects.get(action="create", object_type="records.attachment")
    assert created.details["radiology_report"] == report.pk
    listed = client.get(f"{API}{report.pk}/").json()["attachments"]
    assert [(a["id"], a["name"]) for a in listed] == [(attachment.pk, "knee-sagittal.png")]
    assert listed[0]["download_url"] == f"/api/v1/attachments/{attachment.pk}/download/"


def test_an_org_admin_may_add_an_image_but_other_staff_and_practitioners_may_not(
    department, api_as, tenant_b
):
    report = in_progress(department)
    assert attach(api_as(department.tenant.admin), report).status_code == 201
    for user in (
        department.second_radiologist.user,
        department.referrer.user,
        department.tenant.staff,
        department.tenant.patient,
    ):
        assert attach(api_as(user), report).status_code == 403, user
    assert attach(api_as(tenant_b.admin), report).status_code == 404
    assert attach(api_as(tenant_b.doctor), report).status_code == 404
    assert Attachment.objects.count() == 1


def test_a_spoofed_extension_is_refused_and_nothing_is_stored(department, api_as, settings):
    report = in_progress(department)
    client = api_as(department.radiologist.user)
    response = attach(client, report, name="knee.png", content=image_bytes("JPEG"))
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"][0]["code"] == "type_mismatch"
    html = attach(client, report, name="knee.png", content=b"<script>alert(1)</script>")
    assert html.json()["error"]["fields"]["file"][0]["code"] == "unsupported_file_type"
    assert not Attachment.objects.exists()
    assert not (settings.MEDIA_ROOT / "clinical").exists()


def test_a_signed_report_takes_no_more_images(department, api_as):
    report = sign(department, in_progress(department))
    response = attach(api_as(department.radiologist.user), report)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "report_signed"
    assert not Attachment.objects.exists()


def test_the_pdf_embeds_images_and_lists_dicom_by_name(department, api_as):
    report = in_progress(department)
    client = api_as(department.radiologist.user)
    attach(client, report, name="key-image.png", description="Meniscal tear")
    attach(client, report, name="series-3.dcm", content=DICOM_BYTES)
    report = sign(department, RadiologyReport.objects.get(pk=report.pk))
    text = pdf_text(report)
    assert "Images and attachments" in text
    assert "key-image.png (PNG image)" in text and "Meniscal tear" in text
    assert "series-3.dcm (DICOM)" in text
    with report.pdf.open("rb") as handle:
        raw = handle.read()
    assert raw.count(b"/Subtype /Image") == 1


def test_the_patient_sees_images_only_once_the_report_is_released(department, api_as, client):
    report = in_progress(department)
    attachment_id = attach(api_as(department.radiologist.user), report).json()["id"]
    patient = api_as(department.tenant.patient)
    assert patient.get(f"/api/v1/attachments/{attachment_id}/download/").status_code == 404
    assert patient.get("/api/v1/attachments/").json()["results"] == []
    client.force_login(department.tenant.patient)
    assert client.get(f"/files/{attachment_id}/download/").status_code == 404
    assert "knee-sagittal.png" not in client.get("/my-reports/").content.decode()

    sign(department, RadiologyReport.objects.get(pk=report.pk))
    patient = api_as(department.tenant.patient)
    assert [a["id"] for a in patient.get(f"{API}{report.pk}/").json()["attachments"]] == [
        attachment_id
    ]
    page = client.get("/my-reports/").content.decode()
    assert f"/files/{attachment_id}/download/?inline=1" in page
    shown = client.get(f"/files/{attachment_id}/download/?inline=1", REMOTE_ADDR="203.0.113.9")
    assert shown.status_code == 200
    assert shown["Content-Disposition"].startswith("inline")
    assert b"".join(shown.streaming_content) == image_bytes("PNG")
    access = ReportAccess.objects.get(attachment_id=attachment_id)
    assert (access.user, access.action, access.ip) == (
        department.tenant.patient,
        "view",
        "203.0.113.9",
    )
    assert AuditEvent.objects.filter(
        action="read", object_type="records.attachment", object_id=str(attachment_id)
    ).exists()
    other = api_as(department.tenant.other_patient)
    assert other.get(f"/api/v1/attachments/{attachment_id}/download/").status_code == 404


def test_staff_without_a_grant_cannot_download_a_reports_image(department, api_as):
    report = sign(department, in_progress(department))
    report = RadiologyReport.objects.get(pk=report.pk)
    attachment = Attachment.objects.create(
        organization=report.organization,
        patient=report.patient,
        radiology_report=report,
        file=SimpleUploadedFile("x.png", image_bytes("PNG")),
        original_name="x.png",
        kind="png",
        content_type="image/png",
        size=10,
        sha256="0" * 64,
        uploaded_by=department.radiologist.user,
    )
    staff = api_as(department.tenant.staff)
    assert staff.get(f"/api/v1/attachments/{attachment.pk}/download/").status_code == 403
    referrer = api_as(department.referrer.user)
    response = referrer.get(f"/api/v1/attachments/{attachment.pk}/download/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    access = ReportAccess.objects.get(attachment=attachment)
    assert access.action == "download"
    report.refresh_from_db()
    assert report.download_count == 0  # counts downloads of the report itself


def test_retracting_a_signed_reports_image_redraws_the_pdf_as_a_new_version(department, api_as):
    report = in_progress(department)
    attachment_id = attach(api_as(department.radiologist.user), report, name="wrong.png").json()[
        "id"
    ]
    report = sign(department, RadiologyReport.objects.get(pk=report.pk))
    assert "wrong.png" in pdf_text(report)
    retracted = api_as(department.radiologist.user).delete(
        f"/api/v1/attachments/{attachment_id}/", {"reason": "Another patient's image"}
    )
    assert retracted.status_code == 200
    report.refresh_from_db()
    assert report.version == 2 and report.pdf_version == 2
    assert "wrong.png" not in pdf_text(report)
    version = report.versions.get(number=2)
    assert version.reason == "wrong.png retracted: Another patient's image"
    patient = api_as(department.tenant.patient)
    assert patient.get(f"{API}{report.pk}/").json()["attachments"] == []


def test_the_editor_offers_the_dropzone_while_writing_and_the_fallback_form_uploads(
    department, client
):
    report = in_progress(department)
    client.force_login(department.radiologist.user)
    page = client.get(f"/radiology/reports/{report.pk}/")
    html = page.content.decode()
    assert page.context["can_attach"] is True
    assert f'data-upload-url="/api/v1/radiology-reports/{report.pk}/attachments/"' in html
    assert "records/js/uploads.js" in html
    posted = client.post(
        f"/radiology/reports/{report.pk}/files/",
        {"files": [SimpleUploadedFile("axial.jpg", image_bytes("JPEG"))]},
    )
    assert posted.status_code == 302
    attachment = Attachment.objects.get(radiology_report=report)
    html = client.get(f"/radiology/reports/{report.pk}/").content.decode()
    assert f"/files/{attachment.pk}/download/?inline=1" in html
    spoofed = client.post(
        f"/radiology/reports/{report.pk}/files/",
        {"files": [SimpleUploadedFile("axial.png", image_bytes("JPEG"))]},
        follow=True,
    )
    assert "axial.png" in spoofed.content.decode()
    assert Attachment.objects.count() == 1
    client.force_login(department.second_radiologist.user)
    refused = client.post(
        f"/radiology/reports/{report.pk}/files/",
        {"files": [SimpleUploadedFile("b.png", image_bytes("PNG"))]},
    )
    assert refused.status_code == 403
    assert Attachment.objects.count() == 1

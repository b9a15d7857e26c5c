"""Attachments: uploaded by practitioners in the patient's care, checked by content and
size, stored privately with a checksum, downloaded only through the authorized, audited
view, retracted rather than deleted."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from caresync.core.models import AuditEvent
from caresync.records.models import Attachment
from caresync.records.services import clinical_note_create, medical_record_create
from caresync.records.tests.conftest import DICOM_BYTES, PDF_BYTES, image_bytes

pytestmark = pytest.mark.django_db


def upload(client, chart, name="spirometry.pdf", content=PDF_BYTES, **fields):
    return client.post(
        "/api/v1/attachments/",
        {"file": SimpleUploadedFile(name, content), "patient": chart.patient.pk, **fields},
        format="multipart",
    )


def signed_record(chart):
    return medical_record_create(
        actor=chart.tenant.doctor,
        patient=chart.patient,
        practitioner=chart.doctor,
        diagnosis_code="J45.9",
        finalize=True,
    )


def test_an_upload_is_stored_privately_with_its_checksum(api_as, chart, settings):
    response = upload(api_as(chart.tenant.doctor), chart)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "pdf" and body["content_type"] == "application/pdf"
    assert body["sha256"] == hashlib.sha256(PDF_BYTES).hexdigest()
    assert body["name"] == "spirometry.pdf"
    assert body["download_url"] == f"/api/v1/attachments/{body['id']}/download/"
    stored = Attachment.objects.get().file
    assert stored.name.startswith(f"clinical/{chart.tenant.organization.pk}/")
    assert "spirometry" not in stored.name
    assert (settings.MEDIA_ROOT / stored.name).read_bytes() == PDF_BYTES
    assert not settings.MEDIA_URL or "media" not in str(settings.MEDIA_URL)


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("report.pdf", b"<html><script>alert(document.cookie)</script>", "unsupported_file_type"),
        ("xray.jpg", image_bytes("PNG"), "type_mismatch"),
        ("payload.pdf.exe", PDF_BYTES, "type_mismatch"),
    ],
)
def test_spoofed_uploads_are_refused_and_nothing_is_stored(
    api_as, chart, settings, name, content, code
):
    response = upload(api_as(chart.tenant.doctor), chart, name=name, content=content)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"][0]["code"] == code
    assert not Attachment.objects.exists()
    assert not (settings.MEDIA_ROOT / "clinical").exists()


@override_settings(ATTACHMENT_MAX_BYTES=1024)
def test_an_oversize_upload_is_refused(api_as, chart):
    response = upload(api_as(chart.tenant.doctor), chart, content=PDF_BYTES + b" " * 2048)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "file_too_large"
    assert not Attachment.objects.exists()


def test_dicom_and_images_are_accepted(api_as, chart):
    client = api_as(chart.tenant.doctor)
    assert upload(client, chart, name="chest.dcm", content=DICOM_BYTES).json()["kind"] == "dicom"
    assert upload(client, chart, name="rash.jpg", content=image_bytes("JPEG")).json()["kind"] == (
        "jpeg"
    )


def test_download_is_an_audited_attachment_response(api_as, chart):
    attachment_id = upload(api_as(chart.tenant.doctor), chart).json()["id"]
    response = api_as(chart.tenant.nurse).get(f"/api/v1/attachments/{attachment_id}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "private, no-store"
    assert "sandbox" in response["Content-Security-Policy"]
    event = AuditEvent.objects.get(
        action="read", object_type="records.attachment", object_id=str(attachment_id)
    )
    assert event.actor == chart.tenant.nurse
    assert event.details["download"] is True
    assert event.patient_id == str(chart.patient.pk)


def test_outsiders_cannot_upload_or_download(api_as, chart, tenant_b):
    attachment_id = upload(api_as(chart.tenant.doctor), chart).json()["id"]
    stranger = api_as(chart.stranger_user)
    assert upload(stranger, chart).status_code == 403
    assert stranger.get(f"/api/v1/attachments/{attachment_id}/download/").status_code == 403
    assert (
        api_as(chart.tenant.staff).get(f"/api/v1/attachments/{attachment_id}/download/").status_code
        == 403
    )
    foreign = api_as(tenant_b.doctor)
    assert foreign.get(f"/api/v1/attachments/{attachment_id}/download/").status_code == 404


def test_a_patient_downloads_files_of_their_signed_records_only(api_as, chart):
    record = signed_record(chart)
    doctor = api_as(chart.tenant.doctor)
    on_record = upload(doctor, chart, record=record.pk).json()["id"]
    loose = upload(doctor, chart, name="internal.pdf").json()["id"]
    patient = api_as(chart.tenant.patient)
    assert patient.get(f"/api/v1/attachments/{on_record}/download/").status_code == 200
    assert patient.get(f"/api/v1/attachments/{loose}/download/").status_code == 404
    listed = patient.get("/api/v1/attachments/").json()["results"]
    assert [row["id"] for row in listed] == [on_record]


def test_files_uploaded_while_writing_are_attached_to_the_note(api_as, chart):
    client = api_as(chart.tenant.doctor)
    first = upload(client, chart).json()["id"]
    second = upload(client, chart, name="wound.png", content=image_bytes("PNG")).json()["id"]
    written = client.post(
        "/api/v1/notes/",
        {"patient": chart.patient.pk, "body": "Wound photos", "attachments": [first, second]},
    ).json()
    assert sorted(a["id"] for a in written["attachments"]) == sorted([first, second])
    nurse_file = upload(api_as(chart.tenant.nurse), chart).json()["id"]
    refused = api_as(chart.tenant.doctor).post(
        "/api/v1/notes/",
        {"patient": chart.patient.pk, "body": "Not mine", "attachments": [nurse_file]},
    )
    assert refused.status_code == 400
    assert "attachments" in refused.json()["error"]["fields"]


def test_a_retracted_file_is_kept_but_no_longer_served(api_as, chart):
    attachment_id = upload(api_as(chart.tenant.doctor), chart).json()["id"]
    nurse = api_as(chart.tenant.nurse)
    assert (
        nurse.delete(
            f"/api/v1/attachments/{attachment_id}/", {"reason": "Not my upload"}
        ).status_code
        == 403
    )
    doctor = api_as(chart.tenant.doctor)
    retracted = doctor.delete(f"/api/v1/attachments/{attachment_id}/", {"reason": "Wrong file"})
    assert retracted.status_code == 200
    assert retracted.json()["retraction_reason"] == "Wrong file"
    assert doctor.get(f"/api/v1/attachments/{attachment_id}/download/").status_code == 410
    assert Attachment.objects.filter(pk=attachment_id).exists()


def test_a_file_cannot_go_on_a_retracted_note(api_as, chart):
    written = clinical_note_create(
        actor=chart.tenant.doctor, patient=chart.patient, author=chart.doctor, body="x"
    )
    client = api_as(chart.tenant.doctor)
    client.delete(f"/api/v1/notes/{written.pk}/", {"reason": "Wrong chart"})
    assert upload(client, chart, note=written.pk).status_code == 409

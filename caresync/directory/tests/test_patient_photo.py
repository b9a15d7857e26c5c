"""Patient photos: verified by content, size-capped, stored privately, served with audit."""

import io
import random
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from caresync.core.models import AuditEvent
from caresync.directory.services import patient_create

pytestmark = pytest.mark.django_db


def png_bytes(size=(40, 30), color=(20, 120, 110)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def ada(tenant_a):
    return patient_create(
        actor=None,
        organization=tenant_a.organization,
        given_name="Ada",
        family_name="Lovelace",
        date_of_birth=date(1985, 12, 10),
    )


def upload(client, patient, content: bytes, name="photo.png"):
    return client.put(
        f"/api/v1/patients/{patient.pk}/photo/",
        {"photo": SimpleUploadedFile(name, content)},
        format="multipart",
    )


def test_photo_upload_and_audited_download(api_as, tenant_a, ada):
    staff = api_as(tenant_a.staff)
    assert upload(staff, ada, png_bytes()).status_code == 200
    response = staff.get(f"/api/v1/patients/{ada.pk}/photo/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert AuditEvent.objects.filter(
        action="read", patient_id=str(ada.pk), actor=tenant_a.staff
    ).exists()


def test_a_file_named_like_an_image_is_refused(api_as, tenant_a, ada):
    response = upload(api_as(tenant_a.staff), ada, b"<?php echo 'hi'; ?>", name="photo.png")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["photo"][0]["code"] == "invalid_image"
    ada.refresh_from_db()
    assert not ada.photo


def test_oversize_photo_is_refused(api_as, tenant_a, ada, settings):
    settings.PATIENT_PHOTO_MAX_BYTES = 1000
    noisy = Image.frombytes("RGB", (100, 100), random.Random(1).randbytes(100 * 100 * 3))
    buffer = io.BytesIO()
    noisy.save(buffer, format="PNG")
    response = upload(api_as(tenant_a.staff), ada, buffer.getvalue())
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["photo"][0]["code"] == "file_too_large"


def test_unsupported_image_type_is_refused(api_as, tenant_a, ada):
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, format="GIF")
    response = upload(api_as(tenant_a.staff), ada, buffer.getvalue(), name="a.gif")
    assert response.json()["error"]["fields"]["photo"][0]["code"] == "unsupported_image_type"


def test_photos_are_not_reachable_from_other_tenants(api_as, tenant_a, tenant_b, ada):
    upload(api_as(tenant_a.staff), ada, png_bytes())
    assert api_as(tenant_b.staff).get(f"/api/v1/patients/{ada.pk}/photo/").status_code == 404


def test_media_files_are_not_served_from_a_public_url(client, api_as, tenant_a, ada):
    upload(api_as(tenant_a.staff), ada, png_bytes())
    ada.refresh_from_db()
    assert client.get(f"/media/{ada.photo.name}").status_code == 404


def test_admins_set_practitioner_photos_that_members_can_see(api_as, tenant_a):
    from caresync.directory.services import practitioner_profile_create

    doctor = practitioner_profile_create(actor=None, membership=tenant_a.doctor.memberships.get())
    put = api_as(tenant_a.admin).put(
        f"/api/v1/practitioners/{doctor.pk}/photo/",
        {"photo": SimpleUploadedFile("d.png", png_bytes())},
        format="multipart",
    )
    assert put.status_code == 200
    assert api_as(tenant_a.patient).get(f"/api/v1/doctors/{doctor.pk}/photo/").status_code == 200
    refused = api_as(tenant_a.doctor).put(
        f"/api/v1/practitioners/{doctor.pk}/photo/",
        {"photo": SimpleUploadedFile("d.png", png_bytes())},
        format="multipart",
    )
    assert refused.status_code == 403

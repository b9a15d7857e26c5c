"""Attachment checks decide the type by content: spoofed extensions, disguised files, fake
images and oversize uploads are refused before anything is stored."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from caresync.core.errors import ApplicationError
from caresync.records.files import attachment_checked, safe_display_name
from caresync.records.tests.conftest import DICOM_BYTES, PDF_BYTES, image_bytes

MB = 1024 * 1024


def check(name, content, max_bytes=MB):
    return attachment_checked(SimpleUploadedFile(name, content), max_bytes=max_bytes)


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("lab.pdf", PDF_BYTES, "pdf"),
        ("wound.PNG", image_bytes("PNG"), "png"),
        ("rash.jpeg", image_bytes("JPEG"), "jpeg"),
        ("rash.jpg", image_bytes("JPEG"), "jpeg"),
        ("chest.dcm", DICOM_BYTES, "dicom"),
        ("IM000001", DICOM_BYTES, "dicom"),
    ],
)
def test_allowed_files_are_recognised_by_content(name, content, kind):
    found, digest = check(name, content)
    assert found.kind == kind
    assert digest == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("report.pdf", b"<html><script>alert(1)</script></html>", "unsupported_file_type"),
        ("invoice.pdf", b"MZ\x90\x00\x03 this is a Windows program", "unsupported_file_type"),
        ("photo.jpg", b"#!/bin/sh\nrm -rf /\n", "unsupported_file_type"),
        ("scan.png", PDF_BYTES, "type_mismatch"),
        ("results.pdf", image_bytes("PNG"), "type_mismatch"),
        ("results.pdf.exe", PDF_BYTES, "type_mismatch"),
        ("notes.html", PDF_BYTES, "type_mismatch"),
        ("fake.png", b"\x89PNG\r\n\x1a\n" + b"not really an image" * 10, "invalid_image"),
        ("fake.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 100, "invalid_image"),
        ("empty.pdf", b"", "empty_file"),
    ],
)
def test_spoofed_and_disguised_files_are_refused(name, content, code):
    with pytest.raises(ApplicationError) as refused:
        check(name, content)
    assert refused.value.code == code
    assert refused.value.fields["file"][0]["code"] == code


def test_a_file_over_the_limit_is_refused_before_it_is_read():
    with pytest.raises(ApplicationError) as refused:
        check("big.pdf", PDF_BYTES + b"0" * MB, max_bytes=MB)
    assert refused.value.code == "file_too_large"
    assert "1 MB" in refused.value.message


def test_display_names_lose_folders_and_markup():
    assert safe_display_name("../../etc/passwd") == "passwd"
    assert safe_display_name("C:\\Users\\me\\scan.pdf") == "scan.pdf"
    assert safe_display_name('x"<b>.pdf') == "xb.pdf"
    assert safe_display_name("") == "attachment"

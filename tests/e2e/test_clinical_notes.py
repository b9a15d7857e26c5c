"""Clinical notes in Chromium under the strict CSP: a doctor opens a completed visit, writes
its SOAP note in the rich editor from the offered template, drops a PDF onto the note
(uploaded with progress), signs it, and downloads the PDF back from the timeline."""

import re

import pytest

from caresync.records.demo import demo_pdf
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_doctor_writes_a_soap_note_with_a_pdf_and_downloads_it(page, live_server_url, artifacts):
    sign_in(page, live_server_url, "doctor1@harbour-health.test")
    page.wait_for_url(re.compile(rf"{live_server_url}/.*"))
    page.goto(f"{live_server_url}/appointments/?when=past&status=completed&scope=mine")
    page.get_by_role("link", name=re.compile("^Open")).first.click()
    page.wait_for_url(re.compile(rf"{live_server_url}/appointments/\d+/$"))

    page.get_by_role("link", name=re.compile("Write the note")).click()
    page.wait_for_url(re.compile(rf"{live_server_url}/patients/\d+/notes/new/\?appointment=\d+"))
    patient_name = page.locator("form[data-note-form] p.text-muted strong").first.inner_text()
    page.select_option("#id_note_type", "soap")
    page.fill("#id_title", "Asthma review")

    subjective = page.get_by_role("textbox", name="Subjective")
    subjective.click()
    page.keyboard.press("Control+End")
    page.keyboard.type(" Night cough for three weeks. ")
    page.get_by_role("button", name="Bold").first.click()
    page.keyboard.type("Reliever used daily")
    assessment = page.get_by_role("textbox", name="Assessment")
    assessment.click()
    page.keyboard.type("Asthma, not well controlled.")

    pdf = demo_pdf(["Spirometry result", f"Patient: {patient_name}", "FEV1 78% predicted"])
    page.set_input_files(
        "#id_files",
        files=[{"name": "spirometry.pdf", "mimeType": "application/pdf", "buffer": pdf}],
    )
    upload = page.locator(".upload-list__item")
    upload.locator(".upload-list__status", has_text="Uploaded").wait_for()
    assert upload.locator("progress").get_attribute("value") == "100"
    page.screenshot(path=str(artifacts / "note-editor.png"), full_page=True)

    page.get_by_test_id("save-note").click()
    page.wait_for_url(re.compile(rf"{live_server_url}/patients/\d+/\?tab=notes$"))
    note = page.get_by_test_id("note").filter(has_text="Asthma review").first
    assert note.is_visible()
    assert "Night cough for three weeks." in note.inner_text()
    assert note.locator("b, strong", has_text="Reliever used daily").count() == 1
    assert "Signed" in note.inner_text()
    page.screenshot(path=str(artifacts / "notes-timeline.png"), full_page=True)

    with page.expect_download() as download_info:
        note.get_by_role("link", name="spirometry.pdf").click()
    download = download_info.value
    assert download.suggested_filename == "spirometry.pdf"
    content = open(download.path(), "rb").read()  # noqa: SIM115, PTH123 - small file
    assert content.startswith(b"%PDF-")
    assert f"Patient: {patient_name}".encode() in content
    assert page.console_errors == []

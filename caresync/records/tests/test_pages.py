"""The patient's Notes and Records tabs and the pages behind them: timeline with filters,
writing (plain form posts work without the editor script), amending, history, retraction,
break-glass, audited downloads, and the note offered when a visit is completed."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from caresync.core.models import AuditEvent
from caresync.records.models import Attachment, ClinicalNote, MedicalRecord, NoteTemplate
from caresync.records.services import clinical_note_create, medical_record_create
from caresync.records.tests.conftest import PDF_BYTES

pytestmark = pytest.mark.django_db


def tab(client, chart, name, query=""):
    return client.get(f"{reverse('patient-detail', args=[chart.patient.pk])}?tab={name}{query}")


def no_inline_code(html: str) -> None:
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None
    assert ' style="' not in html
    assert re.search(r"\son[a-z]+=", html) is None


def test_the_notes_tab_shows_the_timeline_and_audits_each_note(client, chart):
    written = clinical_note_create(
        actor=chart.tenant.doctor,
        patient=chart.patient,
        author=chart.doctor,
        note_type="soap",
        subjective="<p>Cough for <strong>3 weeks</strong></p>",
        plan="<p>Chest X-ray</p>",
    )
    client.force_login(chart.tenant.nurse)
    response = tab(client, chart, "notes")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Cough for <strong>3 weeks</strong>" in html
    assert "Chest X-ray" in html
    assert reverse("note-history", args=[written.pk]) in html
    assert reverse("note-edit", args=[written.pk]) not in html  # not the nurse's note
    no_inline_code(html)
    assert AuditEvent.objects.filter(
        action="read", object_type="records.clinicalnote", object_id=str(written.pk)
    ).exists()


def test_the_timeline_filters_by_type(client, chart):
    for note_type, body in (("phone_call", "Rang about results"), ("admin", "Form posted")):
        clinical_note_create(
            actor=chart.tenant.doctor,
            patient=chart.patient,
            author=chart.doctor,
            note_type=note_type,
            body=body,
        )
    client.force_login(chart.tenant.doctor)
    html = tab(client, chart, "notes", "&note_type=phone_call").content.decode()
    assert "Rang about results" in html and "Form posted" not in html


def test_without_a_care_relationship_the_tab_is_locked_until_break_glass(client, chart):
    clinical_note_create(
        actor=chart.tenant.doctor, patient=chart.patient, author=chart.doctor, body="Secret"
    )
    client.force_login(chart.stranger_user)
    html = tab(client, chart, "notes").content.decode()
    assert "Secret" not in html
    assert "Emergency access" in html
    response = client.post(
        reverse("patient-break-glass-open", args=[chart.patient.pk]),
        {"reason": "Patient collapsed in clinic", "tab": "notes"},
        follow=True,
    )
    assert "Secret" in response.content.decode()


def test_writing_a_note_with_the_plain_form_and_a_file(client, chart):
    client.force_login(chart.tenant.doctor)
    url = reverse("note-create", args=[chart.patient.pk])
    page = client.get(url)
    assert page.status_code == 200
    no_inline_code(page.content.decode())
    response = client.post(
        url,
        {
            "note_type": "progress",
            "title": "Review",
            "body": "Feeling better\n\n<script>alert(1)</script>Plan: continue",
            "appointment": chart.visit.pk,
            "files": SimpleUploadedFile("peak-flow.pdf", PDF_BYTES),
        },
    )
    assert response.status_code == 302
    note = ClinicalNote.objects.get()
    assert "<script" not in note.body and "Feeling better" in note.body
    assert note.appointment == chart.visit
    assert Attachment.objects.get().note == note


def test_a_bad_file_keeps_the_note_unwritten_and_says_why(client, chart):
    client.force_login(chart.tenant.doctor)
    response = client.post(
        reverse("note-create", args=[chart.patient.pk]),
        {
            "note_type": "progress",
            "body": "With a disguised file",
            "files": SimpleUploadedFile("scan.pdf", b"<html>not a pdf</html>"),
        },
    )
    assert response.status_code == 200
    assert "Upload a PDF, PNG, JPEG or DICOM file." in response.content.decode()
    assert not ClinicalNote.objects.exists()


def test_amending_a_signed_note_needs_a_reason_and_history_shows_both(client, chart):
    note = clinical_note_create(
        actor=chart.tenant.doctor, patient=chart.patient, author=chart.doctor, body="BP 150/95"
    )
    client.force_login(chart.tenant.doctor)
    url = reverse("note-edit", args=[note.pk])
    refused = client.post(url, {"note_type": "progress", "body": "BP 135/85"})
    assert refused.status_code == 200
    assert "Say why you amend a signed note" in refused.content.decode()
    client.post(url, {"note_type": "progress", "body": "BP 135/85", "reason": "Typo in BP"})
    history = client.get(reverse("note-history", args=[note.pk])).content.decode()
    assert "BP 150/95" in history and "BP 135/85" in history and "Why: Typo in BP" in history


def test_retracting_from_the_timeline_strikes_the_note_through(client, chart):
    note = clinical_note_create(
        actor=chart.tenant.doctor, patient=chart.patient, author=chart.doctor, body="Wrong chart"
    )
    client.force_login(chart.tenant.doctor)
    response = client.post(
        reverse("note-retract", args=[note.pk]), {"reason": "Written in the wrong chart"}
    )
    assert response.status_code == 302
    html = tab(client, chart, "notes").content.decode()
    assert "Entered in error: Written in the wrong chart" in html
    assert "note-card--retracted" in html


def test_the_nurse_cannot_retract_the_doctors_note_through_the_page(client, chart):
    note = clinical_note_create(
        actor=chart.tenant.doctor, patient=chart.patient, author=chart.doctor, body="Mine"
    )
    client.force_login(chart.tenant.nurse)
    response = client.post(reverse("note-retract", args=[note.pk]), {"reason": "Not yours"})
    assert response.status_code == 403
    note.refresh_from_db()
    assert note.status == "final"


def test_writing_a_medical_record_with_medications(client, chart):
    client.force_login(chart.tenant.doctor)
    url = reverse("medical-record-create", args=[chart.patient.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "diagnosis_code": "j45.9",
            "treatment": "Preventer inhaler",
            "med_0_name": "Budesonide",
            "med_0_dose": "200 mcg",
            "med_0_route": "inhaled",
            "med_0_frequency": "twice daily",
            "med_0_start": "2026-03-02",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    record = MedicalRecord.objects.get()
    assert (record.diagnosis_code, record.diagnosis) == ("J45.9", "Asthma, unspecified")
    assert record.medications[0]["name"] == "Budesonide"
    assert record.status == "final"
    html = tab(client, chart, "records").content.decode()
    assert "Budesonide" in html and "J45.9" in html


def test_a_medication_row_without_a_name_is_pointed_out_not_dropped(client, chart):
    client.force_login(chart.tenant.doctor)
    response = client.post(
        reverse("medical-record-create", args=[chart.patient.pk]),
        {"diagnosis_code": "I10", "med_1_dose": "5 mg", "med_1_frequency": "daily"},
    )
    assert response.status_code == 200
    assert "Name the medication." in response.content.decode()
    assert not MedicalRecord.objects.exists()


def test_amending_a_record_keeps_medications_beyond_the_blank_rows(client, chart):
    medications = [{"name": f"Drug {n}"} for n in range(6)]
    record = medical_record_create(
        actor=chart.tenant.doctor,
        patient=chart.patient,
        practitioner=chart.doctor,
        diagnosis_code="I10",
        medications=medications,
        finalize=True,
    )
    client.force_login(chart.tenant.doctor)
    page = client.get(reverse("medical-record-edit", args=[record.pk])).content.decode()
    assert 'value="Drug 5"' in page


def test_a_patient_sees_their_signed_records_but_no_notes(client, chart):
    medical_record_create(
        actor=chart.tenant.doctor,
        patient=chart.patient,
        practitioner=chart.doctor,
        diagnosis_code="I10",
        finalize=True,
    )
    medical_record_create(
        actor=chart.tenant.doctor,
        patient=chart.patient,
        practitioner=chart.doctor,
        diagnosis="Unsigned working diagnosis",
    )
    clinical_note_create(
        actor=chart.tenant.doctor, patient=chart.patient, author=chart.doctor, body="Internal"
    )
    client.force_login(chart.tenant.patient)
    records = tab(client, chart, "records").content.decode()
    assert "Essential (primary) hypertension" in records
    assert "Unsigned working diagnosis" not in records
    assert "New record" not in records
    notes = tab(client, chart, "notes").content.decode()
    assert "Internal" not in notes
    assert "Emergency access" not in notes


def test_downloads_from_the_page_are_audited(client, chart):
    record = medical_record_create(
        actor=chart.tenant.doctor,
        patient=chart.patient,
        practitioner=chart.doctor,
        diagnosis_code="I10",
        finalize=True,
    )
    from caresync.records.services import attachment_upload

    attachment = attachment_upload(
        actor=chart.tenant.doctor,
        patient=chart.patient,
        record=record,
        upload=SimpleUploadedFile("ecg.pdf", PDF_BYTES),
    )
    client.force_login(chart.tenant.nurse)
    html = tab(client, chart, "records").content.decode()
    url = reverse("attachment-download-page", args=[attachment.pk])
    assert url in html
    response = client.get(url)
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert AuditEvent.objects.filter(
        action="read", object_type="records.attachment", details__download=True
    ).exists()
    client.force_login(chart.stranger_user)
    assert client.get(url).status_code == 403


def test_a_completed_visit_offers_its_services_note_template(client, chart):
    NoteTemplate.objects.create(
        organization=chart.tenant.organization,
        service=chart.service,
        name="Consult review",
        note_type="soap",
        subjective="<p>Reason for visit:</p>",
        plan="<p>Next review:</p>",
    )
    client.force_login(chart.tenant.doctor)
    detail = client.get(reverse("appointment-detail", args=[chart.visit.pk])).content.decode()
    assert "Consult review template" in detail
    offer = reverse("note-create", args=[chart.patient.pk]) + f"?appointment={chart.visit.pk}"
    assert offer in detail
    page = client.get(offer).content.decode()
    assert "Reason for visit:" in page and "Next review:" in page
    assert f'<option value="{chart.visit.pk}" selected>' in page


def test_the_offer_is_not_made_to_those_who_cannot_write(client, chart):
    client.force_login(chart.tenant.staff)
    detail = client.get(reverse("appointment-detail", args=[chart.visit.pk])).content.decode()
    assert 'data-testid="visit-note"' not in detail

"""The clinical notes timeline (seed 001): typed notes with sanitized rich text, SOAP
sections, pinning, filters, versions and retraction; patients never read notes."""

from datetime import UTC, datetime

import pytest
import time_machine

from caresync.core.models import AuditEvent
from caresync.records.models import ClinicalNote
from caresync.records.services import clinical_note_create

pytestmark = pytest.mark.django_db


def note(chart, author=None, **fields):
    author = author or chart.doctor
    return clinical_note_create(
        actor=author.user, patient=chart.patient, author=author, **{"body": "Seen.", **fields}
    )


def test_a_soap_note_is_stored_sanitized_in_its_four_sections(api_as, chart):
    response = api_as(chart.tenant.doctor).post(
        "/api/v1/notes/",
        {
            "patient": chart.patient.pk,
            "appointment": chart.visit.pk,
            "note_type": "soap",
            "title": "Asthma review",
            "subjective": "<p onclick='x()'>Wheezy at night<script>steal()</script></p>",
            "objective": "<p>Peak flow <strong>380</strong> L/min</p>",
            "assessment": "<a href='javascript:alert(1)'>Poorly controlled</a>",
            "plan": "Step up to ICS/LABA\n\nReview in 4 weeks",
            "body": "ignored for SOAP",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["subjective"] == "<p>Wheezy at night</p>"
    assert body["objective"] == "<p>Peak flow <strong>380</strong> L/min</p>"
    assert "javascript" not in body["assessment"]
    assert body["plan"] == "<p>Step up to ICS/LABA</p><p>Review in 4 weeks</p>"
    assert body["body"] == ""
    assert body["status"] == "final" and body["signed_at"]
    assert body["author"] == chart.doctor.pk


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"note_type": "soap"}, "subjective"),
        ({"note_type": "progress", "body": "<script>x()</script>"}, "body"),
        ({"note_type": "referral_letter", "body": "Dear colleague"}, "recipient"),
        ({"note_type": "gossip", "body": "x"}, "note_type"),
        ({"body": "x", "html": "<b>"}, "html"),
    ],
)
def test_empty_or_invalid_notes_are_refused(api_as, chart, payload, field):
    response = api_as(chart.tenant.doctor).post(
        "/api/v1/notes/", {"patient": chart.patient.pk, **payload}
    )
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not ClinicalNote.objects.exists()


def test_the_timeline_filters_by_type_author_and_date_with_pinned_notes_first(api_as, chart):
    with time_machine.travel(datetime(2026, 3, 2, 9, tzinfo=UTC)):
        call = note(chart, note_type="phone_call", body="Called about results")
    with time_machine.travel(datetime(2026, 3, 9, 9, tzinfo=UTC)):
        by_nurse = note(chart, author=chart.nurse, body="Inhaler technique")
    with time_machine.travel(datetime(2026, 3, 16, 9, tzinfo=UTC)):
        latest = note(chart, body="Improving")
    client = api_as(chart.tenant.doctor)
    client.post(f"/api/v1/notes/{call.pk}/pin/", {"pinned": True})

    def ids(query=""):
        url = f"/api/v1/notes/?patient={chart.patient.pk}{query}"
        return [row["id"] for row in client.get(url).json()["results"]]

    assert ids() == [call.pk, latest.pk, by_nurse.pk]
    assert ids("&note_type=phone_call") == [call.pk]
    assert ids(f"&author={chart.nurse.pk}") == [by_nurse.pk]
    assert ids("&since=2026-03-05&until=2026-03-10") == [by_nurse.pk]


def test_amending_a_note_needs_a_reason_and_keeps_every_version(api_as, chart):
    written = note(chart, body="<p>BP 150/95</p>")
    client = api_as(chart.tenant.doctor)
    assert client.patch(f"/api/v1/notes/{written.pk}/", {"body": "BP 135/85"}).status_code == 400
    amended = client.patch(
        f"/api/v1/notes/{written.pk}/", {"body": "BP 135/85", "reason": "Typo in reading"}
    )
    assert amended.json()["status"] == "amended"
    versions = client.get(f"/api/v1/notes/{written.pk}/versions/").json()["results"]
    assert [(v["number"], v["change"]) for v in versions] == [(2, "amended"), (1, "created")]
    assert versions[1]["data"]["body"] == "<p>BP 150/95</p>"
    assert versions[0]["reason"] == "Typo in reading"


def test_a_draft_note_is_signed_later(api_as, chart):
    client = api_as(chart.tenant.doctor)
    draft = client.post(
        "/api/v1/notes/", {"patient": chart.patient.pk, "body": "Half written", "status": "draft"}
    ).json()
    assert draft["status"] == "draft" and draft["signed_at"] is None
    assert api_as(chart.tenant.nurse).get(f"/api/v1/notes/{draft['id']}/").status_code == 403
    signed = api_as(chart.tenant.doctor).post(f"/api/v1/notes/{draft['id']}/sign/").json()
    assert signed["status"] == "final" and signed["version"] == 2


def test_a_retracted_note_stays_on_the_timeline_unpinned_and_cannot_change(api_as, chart):
    written = note(chart, pinned=True)
    client = api_as(chart.tenant.doctor)
    retracted = client.delete(f"/api/v1/notes/{written.pk}/", {"reason": "Wrong patient chart"})
    assert retracted.status_code == 200
    assert retracted.json()["status"] == "entered_in_error"
    assert retracted.json()["pinned"] is False
    listed = client.get(f"/api/v1/notes/?patient={chart.patient.pk}").json()["results"]
    assert [row["status"] for row in listed] == ["entered_in_error"]
    assert client.post(f"/api/v1/notes/{written.pk}/pin/", {"pinned": True}).status_code == 409
    edit = client.patch(f"/api/v1/notes/{written.pk}/", {"body": "x", "reason": "again!"})
    assert edit.status_code == 409


def test_another_practitioner_in_the_care_team_pins_but_cannot_edit_or_retract(api_as, chart):
    written = note(chart)
    client = api_as(chart.tenant.nurse)
    assert client.post(f"/api/v1/notes/{written.pk}/pin/", {"pinned": True}).json()["pinned"]
    edit = client.patch(f"/api/v1/notes/{written.pk}/", {"body": "x", "reason": "mine now"})
    assert edit.status_code == 403
    retract = client.delete(f"/api/v1/notes/{written.pk}/", {"reason": "not my note"})
    assert retract.status_code == 403


def test_patients_and_staff_without_a_grant_never_read_notes(api_as, chart):
    written = note(chart)
    patient = api_as(chart.tenant.patient)
    assert patient.get("/api/v1/notes/").status_code == 403
    assert patient.get(f"/api/v1/notes/{written.pk}/").status_code == 403
    staff = api_as(chart.tenant.staff)
    assert staff.get("/api/v1/notes/").json()["count"] == 0
    assert staff.get(f"/api/v1/notes/{written.pk}/").status_code == 403


def test_reading_a_note_and_its_versions_is_audited(api_as, chart):
    written = note(chart)
    client = api_as(chart.tenant.nurse)
    client.get(f"/api/v1/notes/{written.pk}/")
    client.get(f"/api/v1/notes/{written.pk}/versions/")
    reads = AuditEvent.objects.filter(
        action="read", object_type="records.clinicalnote", object_id=str(written.pk)
    )
    assert reads.count() == 2
    assert any(event.details.get("versions") for event in reads)

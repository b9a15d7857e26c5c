"""Seed 002 medical records: written by practitioners in the patient's care, never
overwritten (versions with who/when/why), retracted instead of deleted, read only by those
allowed, every read audited."""

import pytest

from caresync.core.models import AuditEvent
from caresync.records.models import ImmutableError, MedicalRecord, MedicalRecordVersion
from caresync.records.services import medical_record_create

pytestmark = pytest.mark.django_db

RECORD = {
    "diagnosis_code": "J45.9",
    "treatment": "Salbutamol inhaler as needed",
    "medications": [
        {
            "name": "Salbutamol",
            "dose": "100 mcg, 2 puffs",
            "route": "inhaled",
            "frequency": "as needed",
            "start": "2026-03-02",
        }
    ],
    "notes": "Review in 4 weeks.",
}


def create(client, chart, **overrides):
    return client.post(
        "/api/v1/medical-records/", {"patient": chart.patient.pk, **RECORD, **overrides}
    )


def signed_record(chart, **fields):
    values = {"diagnosis_code": "J45.9", "treatment": "Salbutamol", **fields}
    return medical_record_create(
        actor=chart.tenant.doctor,
        patient=chart.patient,
        practitioner=chart.doctor,
        finalize=True,
        **values,
    )


def test_doctor_writes_a_signed_record_with_the_icd_title_as_diagnosis(api_as, chart):
    response = create(api_as(chart.tenant.doctor), chart, appointment=chart.visit.pk)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "final"
    assert body["version"] == 1
    assert body["diagnosis"] == "Asthma, unspecified"
    assert body["practitioner"] == chart.doctor.pk
    assert body["appointment"] == chart.visit.pk
    assert body["medications"][0]["route"] == "inhaled"
    assert body["medications"][0]["stop"] is None
    assert AuditEvent.objects.filter(
        action="create", object_type="records.medicalrecord", object_id=str(body["id"])
    ).exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"diagnosis_code": "ZZ9.9"}, "diagnosis_code"),
        ({"medications": [{"name": "X", "start": "2026-03-02", "stop": "2026-03-01"}]}, None),
        ({"medications": [{"name": "X", "route": "by owl"}]}, "medications"),
        ({"medications": [{"dose": "5 mg"}]}, "medications"),
        ({"colour": "blue"}, "colour"),
        ({"diagnosis_code": "", "treatment": "", "medications": [], "notes": ""}, "diagnosis"),
    ],
)
def test_bad_input_is_refused_with_field_errors_and_stores_nothing(api_as, chart, overrides, field):
    response = create(api_as(chart.tenant.doctor), chart, **overrides)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    if field:
        assert field in error["fields"]
    assert not MedicalRecord.objects.exists()


def test_a_patient_of_another_organization_cannot_be_written_for(api_as, chart, tenant_b):
    from datetime import date

    from caresync.directory.services import patient_create

    foreign = patient_create(
        actor=None,
        organization=tenant_b.organization,
        given_name="Far",
        family_name="Away",
        date_of_birth=date(1990, 1, 1),
    )
    response = create(api_as(chart.tenant.doctor), chart, patient=foreign.pk)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["patient"][0]["code"] == "does_not_exist"
    assert not MedicalRecord.objects.exists()


def test_a_practitioner_without_a_care_relationship_may_not_write_or_read(api_as, chart):
    client = api_as(chart.stranger_user)
    assert create(client, chart).status_code == 403
    record = signed_record(chart)
    response = client.get(f"/api/v1/medical-records/{record.pk}/")
    assert response.status_code == 403
    assert client.get("/api/v1/medical-records/").json()["count"] == 0
    assert client.get(f"/api/v1/patients/{chart.patient.pk}/medical-records/").status_code == 403
    assert AuditEvent.objects.filter(action="permission_denied", actor=chart.stranger_user).exists()


def test_break_glass_opens_the_chart_and_the_reads_say_so(api_as, chart):
    record = signed_record(chart)
    client = api_as(chart.stranger_user)
    opened = client.post(
        f"/api/v1/patients/{chart.patient.pk}/break-glass/",
        {"reason": "Collapsed in the waiting room, treating doctor unavailable"},
    )
    assert opened.status_code == 201
    response = client.get(f"/api/v1/medical-records/{record.pk}/")
    assert response.status_code == 200
    read = AuditEvent.objects.filter(
        action="read", object_type="records.medicalrecord", actor=chart.stranger_user
    ).get()
    assert read.details["via"] == "break_glass"
    assert read.patient_id == str(chart.patient.pk)


def test_editing_a_signed_record_is_an_amendment_that_keeps_the_old_version(api_as, chart):
    record = signed_record(chart)
    client = api_as(chart.tenant.doctor)
    refused = client.patch(f"/api/v1/medical-records/{record.pk}/", {"treatment": "Montelukast"})
    assert refused.status_code == 400
    assert "reason" in refused.json()["error"]["fields"]

    response = client.patch(
        f"/api/v1/medical-records/{record.pk}/",
        {"treatment": "Montelukast 10 mg nightly", "reason": "Inhaler not tolerated"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "amended"
    assert response.json()["version"] == 2

    versions = client.get(f"/api/v1/records/{record.pk}/versions/").json()["results"]
    assert [v["number"] for v in versions] == [2, 1]
    assert versions[0]["change"] == "amended"
    assert versions[0]["reason"] == "Inhaler not tolerated"
    assert versions[0]["changed_by"] == str(chart.tenant.doctor)
    assert versions[1]["data"]["treatment"] == "Salbutamol"
    assert versions[0]["data"]["treatment"] == "Montelukast 10 mg nightly"


def test_a_draft_is_edited_then_signed_and_only_its_author_sees_it(api_as, chart):
    client = api_as(chart.tenant.doctor)
    record = create(client, chart, status="draft").json()
    assert record["status"] == "draft"
    edited = client.patch(f"/api/v1/medical-records/{record['id']}/", {"notes": "Peak flow 380"})
    assert edited.json()["version"] == 2 and edited.json()["status"] == "draft"

    nurse = api_as(chart.tenant.nurse)
    assert nurse.get(f"/api/v1/medical-records/{record['id']}/").status_code == 403
    assert nurse.get("/api/v1/medical-records/").json()["count"] == 0

    client = api_as(chart.tenant.doctor)
    signed = client.post(f"/api/v1/medical-records/{record['id']}/finalize/")
    assert signed.json()["status"] == "final" and signed.json()["version"] == 3
    assert client.post(f"/api/v1/medical-records/{record['id']}/finalize/").status_code == 409
    changes = [v.change for v in MedicalRecordVersion.objects.order_by("number")]
    assert changes == ["created", "edited", "finalized"]
    assert api_as(chart.tenant.nurse).get("/api/v1/medical-records/").json()["count"] == 1


def test_sending_back_the_same_content_adds_no_version(api_as, chart):
    record = signed_record(chart)
    client = api_as(chart.tenant.doctor)
    current = client.get(f"/api/v1/medical-records/{record.pk}/").json()
    response = client.put(f"/api/v1/medical-records/{record.pk}/", current)
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 1
    assert MedicalRecordVersion.objects.count() == 1


def test_only_the_author_edits_a_record(api_as, chart):
    record = signed_record(chart)
    response = api_as(chart.tenant.nurse).patch(
        f"/api/v1/medical-records/{record.pk}/", {"notes": "x", "reason": "Nurse edit"}
    )
    assert response.status_code == 403
    record.refresh_from_db()
    assert record.version == 1


def test_delete_retracts_with_a_reason_and_the_history_shows_it(api_as, chart):
    record = signed_record(chart)
    client = api_as(chart.tenant.doctor)
    assert client.delete(f"/api/v1/medical-records/{record.pk}/").status_code == 400
    response = client.delete(
        f"/api/v1/medical-records/{record.pk}/", {"reason": "Wrong patient selected"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "entered_in_error"
    assert response.json()["retraction_reason"] == "Wrong patient selected"
    assert MedicalRecord.objects.filter(pk=record.pk).exists()

    versions = client.get(f"/api/v1/records/{record.pk}/versions/").json()["results"]
    assert versions[0]["change"] == "retracted"
    assert versions[0]["reason"] == "Wrong patient selected"
    again = client.delete(f"/api/v1/medical-records/{record.pk}/", {"reason": "Once more"})
    assert again.status_code == 409
    edit = client.patch(f"/api/v1/medical-records/{record.pk}/", {"notes": "x", "reason": "Fix it"})
    assert edit.status_code == 409


def test_an_org_admin_may_retract_but_another_practitioner_may_not(api_as, chart):
    record = signed_record(chart)
    refused = api_as(chart.tenant.nurse).delete(
        f"/api/v1/medical-records/{record.pk}/", {"reason": "Not mine to retract"}
    )
    assert refused.status_code == 403
    allowed = api_as(chart.tenant.admin).delete(
        f"/api/v1/medical-records/{record.pk}/?reason=Duplicate%20of%20record%201"
    )
    assert allowed.status_code == 200
    assert allowed.json()["status"] == "entered_in_error"


def test_a_patient_sees_only_their_own_signed_records(api_as, chart):
    mine = signed_record(chart)
    medical_record_create(
        actor=chart.tenant.doctor,
        patient=chart.patient,
        practitioner=chart.doctor,
        notes="Draft thoughts",
    )
    theirs = medical_record_create(
        actor=chart.tenant.doctor,
        patient=chart.other_patient,
        practitioner=chart.doctor,
        notes="Someone else",
        finalize=True,
    )
    client = api_as(chart.tenant.patient)
    listed = client.get("/api/v1/medical-records/").json()
    assert [row["id"] for row in listed["results"]] == [mine.pk]
    by_patient = client.get(f"/api/v1/patients/{chart.patient.pk}/medical-records/").json()
    assert [row["id"] for row in by_patient["results"]] == [mine.pk]
    assert client.get(f"/api/v1/medical-records/{theirs.pk}/").status_code == 404
    assert (
        client.get(f"/api/v1/patients/{chart.other_patient.pk}/medical-records/").status_code == 404
    )
    assert client.post("/api/v1/medical-records/", {"patient": chart.patient.pk}).status_code == 403


def test_a_retracted_record_leaves_the_patients_view(api_as, chart):
    record = signed_record(chart)
    api_as(chart.tenant.doctor).delete(
        f"/api/v1/medical-records/{record.pk}/", {"reason": "Wrong patient"}
    )
    assert api_as(chart.tenant.patient).get("/api/v1/medical-records/").json()["count"] == 0


def test_staff_see_no_records_until_an_admin_grants_access(api_as, chart):
    record = signed_record(chart)
    staff = api_as(chart.tenant.staff)
    assert staff.get("/api/v1/medical-records/").json()["count"] == 0
    assert staff.get(f"/api/v1/medical-records/{record.pk}/").status_code == 403

    admin = api_as(chart.tenant.admin)
    grant = admin.post(
        "/api/v1/clinical-access-grants/",
        {"user": chart.tenant.staff.pk, "reason": "Coding audit this week", "days": 2},
    )
    assert grant.status_code == 201, grant.content
    staff = api_as(chart.tenant.staff)
    assert staff.get(f"/api/v1/medical-records/{record.pk}/").status_code == 200
    assert (
        staff.patch(
            f"/api/v1/medical-records/{record.pk}/", {"notes": "x", "reason": "staff"}
        ).status_code
        == 403
    )

    api_as(chart.tenant.admin).post(f"/api/v1/clinical-access-grants/{grant.json()['id']}/revoke/")
    assert (
        api_as(chart.tenant.staff).get(f"/api/v1/medical-records/{record.pk}/").status_code == 403
    )


def test_a_grant_is_only_for_staff(api_as, chart):
    response = api_as(chart.tenant.admin).post(
        "/api/v1/clinical-access-grants/",
        {"user": chart.tenant.doctor.pk, "reason": "Doctors need no grant"},
    )
    assert response.status_code == 400


def test_every_record_in_a_list_is_audited_as_a_read(api_as, chart):
    first = signed_record(chart)
    second = signed_record(chart, diagnosis_code="E11.9")
    api_as(chart.tenant.nurse).get("/api/v1/medical-records/")
    reads = AuditEvent.objects.filter(
        action="read", object_type="records.medicalrecord", actor=chart.tenant.nurse
    )
    assert sorted(int(e.object_id) for e in reads) == sorted([first.pk, second.pk])
    assert {e.details["via"] for e in reads} == {"care_relationship"}


def test_the_list_filters_by_patient_and_status(api_as, chart):
    signed_record(chart)
    retracted = signed_record(chart, diagnosis_code="E11.9")
    api_as(chart.tenant.doctor).delete(
        f"/api/v1/medical-records/{retracted.pk}/", {"reason": "Duplicate entry"}
    )
    client = api_as(chart.tenant.doctor)
    rows = client.get(f"/api/v1/medical-records/?patient={chart.patient.pk}&status=final").json()
    assert [r["diagnosis_code"] for r in rows["results"]] == ["J45.9"]


def test_versions_cannot_be_changed_or_deleted(chart):
    record = signed_record(chart)
    version = record.versions.get()
    version.reason = "rewritten history"
    with pytest.raises(ImmutableError):
        version.save()
    with pytest.raises(ImmutableError):
        MedicalRecordVersion.objects.filter(pk=version.pk).update(reason="x")
    with pytest.raises(ImmutableError):
        MedicalRecordVersion.objects.all().delete()


def test_other_organizations_get_404(api_as, chart, tenant_b):
    record = signed_record(chart)
    client = api_as(tenant_b.doctor)
    assert client.get(f"/api/v1/medical-records/{record.pk}/").status_code == 404
    assert client.get(f"/api/v1/records/{record.pk}/versions/").status_code == 404
    assert (
        client.delete(
            f"/api/v1/medical-records/{record.pk}/", {"reason": "Not ours at all"}
        ).status_code
        == 404
    )

"""Patients as CSV: the audited export and the previewed import."""

import csv
import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from caresync.core.models import AuditEvent
from caresync.directory.csv_io import MAX_IMPORT_BYTES, patient_csv_rows, patient_import_parse
from caresync.directory.models import Patient
from caresync.directory.services import patient_create

pytestmark = pytest.mark.django_db


def make_patient(tenant, given="Ada", family="Lovelace", born=date(1985, 12, 10), **extra):
    return patient_create(
        actor=None,
        organization=tenant.organization,
        given_name=given,
        family_name=family,
        date_of_birth=born,
        **extra,
    )


def upload(text: str, name: str = "patients.csv", bom: bool = False) -> SimpleUploadedFile:
    data = ("\ufeff" if bom else "") + text
    return SimpleUploadedFile(name, data.encode(), content_type="text/csv")


GOOD_AND_BAD = (
    "given_name,family_name,date_of_birth,sex,phone,email,favourite_colour\n"
    "Grace,Hopper,1956-12-09,F,0412 345 678,grace@example.test,blue\n"
    "Alan,Turing,23/06/1912,male,,,green\n"
    ",Nameless,1990-01-01,,,,red\n"
    "Ada,Lovelace,1985-12-10,female,0400 111 222,,\n"
    "Katherine,Johnson,1918-08-26,female,,kj@example.test,\n"
)


# --- Export -------------------------------------------------------------------------------


def test_admin_exports_the_filtered_patients_as_csv_with_one_audit_event(
    client, tenant_a, tenant_b
):
    make_patient(tenant_a, "Ada", "Lovelace", phone="+61 400 111 222")
    make_patient(tenant_a, "Alan", "Turing", born=date(1912, 6, 23))
    make_patient(tenant_b, "Bertha", "Benz")
    client.force_login(tenant_a.admin)
    response = client.get("/patients/export.csv", {"q": "turing"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["given_name"], r["family_name"], r["date_of_birth"]) for r in rows] == [
        ("Alan", "Turing", "1912-06-23")
    ]
    event = AuditEvent.objects.get(action="export", actor=tenant_a.admin)
    assert event.object_type == "directory.patient"
    assert event.details["rows"] == 1
    assert event.organization == tenant_a.organization


def test_export_never_lets_a_spreadsheet_run_a_formula_but_keeps_phone_numbers(tenant_a):
    make_patient(tenant_a, "=HYPERLINK(1)", "Evil", phone="+61 400 111 222")
    rows = list(csv.DictReader(io.StringIO("".join(patient_csv_rows(Patient.objects.all())))))
    assert rows[0]["given_name"] == "'=HYPERLINK(1)"
    assert rows[0]["phone"] == "+61 400 111 222"


@pytest.mark.parametrize("who", ["staff", "doctor", "patient"])
def test_only_admins_export_patients(client, tenant_a, who):
    client.force_login(getattr(tenant_a, who))
    assert client.get("/patients/export.csv").status_code == 403
    assert not AuditEvent.objects.filter(action="export").exists()


# --- Import -------------------------------------------------------------------------------


def test_import_preview_flags_bad_rows_duplicates_and_unknown_columns_saving_nothing(
    client, tenant_a
):
    existing = make_patient(tenant_a, "Ada", "Lovelace", phone="+61 400 111 222")
    client.force_login(tenant_a.staff)
    events_before = AuditEvent.objects.exclude(action="read").count()
    response = client.post("/patients/import/", {"step": "upload", "file": upload(GOOD_AND_BAD)})
    assert response.status_code == 200
    checks = {check.number: check for check in response.context["checks"]}
    assert checks[2].status == "ok"
    assert checks[3].status == "error" and "YYYY-MM-DD" in checks[3].messages[0]
    assert checks[4].status == "error" and "Given name" in checks[4].messages[0]
    assert checks[5].status == "duplicate" and existing.mrn in checks[5].messages[0]
    assert checks[6].status == "ok"
    assert response.context["unknown_columns"] == ["favourite_colour"]
    assert response.context["counts"] == {"ok": 2, "error": 2, "duplicate": 1}
    html = response.content.decode()
    assert "favourite_colour" in html and "Import 2 valid rows" in html
    # The preview used the real service but kept nothing: no patient, MRN or audit row.
    assert Patient.objects.count() == 1
    assert AuditEvent.objects.exclude(action="read").count() == events_before
    tenant_a.organization.refresh_from_db()
    assert tenant_a.organization.mrn_sequence == 1


def test_import_creates_only_the_valid_rows_and_skips_duplicates(client, tenant_a):
    make_patient(tenant_a, "Ada", "Lovelace", phone="+61 400 111 222")
    client.force_login(tenant_a.staff)
    client.post("/patients/import/", {"step": "upload", "file": upload(GOOD_AND_BAD, bom=True)})
    response = client.post("/patients/import/", {"step": "import"}, follow=True)
    assert response.redirect_chain[-1][0] == "/patients/"
    names = set(Patient.objects.values_list("family_name", flat=True))
    assert names == {"Lovelace", "Hopper", "Johnson"}
    assert Patient.objects.filter(family_name="Lovelace").count() == 1
    message = [str(m) for m in response.context["messages"]][0]
    assert "Imported 2 patients." in message and "Skipped 1 likely duplicate" in message
    assert AuditEvent.objects.filter(action="create", object_type="directory.patient").count() == 3
    # The rows left the session with the import.
    assert client.post("/patients/import/", {"step": "import"}).status_code == 302
    assert Patient.objects.count() == 3


def test_import_can_include_likely_duplicates_with_the_override_audited(client, tenant_a):
    existing = make_patient(tenant_a, "Ada", "Lovelace", phone="+61 400 111 222")
    client.force_login(tenant_a.staff)
    client.post("/patients/import/", {"step": "upload", "file": upload(GOOD_AND_BAD)})
    client.post("/patients/import/", {"step": "import", "include_duplicates": "on"})
    twin = Patient.objects.filter(family_name="Lovelace").exclude(pk=existing.pk).get()
    event = AuditEvent.objects.get(action="create", patient_id=str(twin.pk))
    assert event.details == {"duplicate_override": [existing.pk]}


def test_a_row_repeated_within_the_file_is_a_likely_duplicate(client, tenant_a):
    text = (
        "given_name,family_name,date_of_birth,phone\n"
        "Grace,Hopper,1956-12-09,0412 345 678\n"
        "Grace,Hopper,1956-12-09,0412 345 678\n"
    )
    client.force_login(tenant_a.staff)
    response = client.post("/patients/import/", {"step": "upload", "file": upload(text)})
    first, second = response.context["checks"]
    assert first.status == "ok"
    assert second.status == "duplicate" and second.messages == ["Same as line 2 of this file."]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"given_name,family_name\nAda,Lovelace\n", "Required column missing: date_of_birth."),
        (b"\xff\xfeg\x00", "not UTF-8"),
        (b"", "The file is empty."),
        (b"given_name,family_name,date_of_birth\n", "no patients"),
        (b"x" * (MAX_IMPORT_BYTES + 1), "larger than 2 MB"),
    ],
)
def test_unusable_files_are_refused_with_a_reason(data, problem):
    parsed = patient_import_parse(data)
    assert parsed.rows == []
    assert problem in " ".join(parsed.problems)


def test_an_unusable_upload_shows_the_reason_on_the_form(client, tenant_a):
    client.force_login(tenant_a.staff)
    response = client.post(
        "/patients/import/", {"step": "upload", "file": upload("given_name\nAda\n")}
    )
    assert "Required columns missing" in " ".join(response.context["form"].errors["file"])


@pytest.mark.parametrize("who", ["doctor", "patient"])
def test_import_is_for_staff_and_admins(client, tenant_a, who):
    client.force_login(getattr(tenant_a, who))
    assert client.get("/patients/import/").status_code == 403

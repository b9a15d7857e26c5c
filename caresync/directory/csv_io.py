"""Patients in and out as CSV: an audited export, and an import that previews every row with
the same service that creates patients (``patient_create``), rolled back, before anything is
saved."""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import transaction

from caresync.accounts.models import Organization
from caresync.core.audit import audit_record
from caresync.core.errors import ApplicationError
from caresync.core.policy import Actor
from caresync.directory.models import Patient
from caresync.directory.services import patient_create

EXPORT_COLUMNS = (
    "mrn",
    "given_name",
    "family_name",
    "preferred_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "country",
    "medicare_number",
    "medicare_irn",
    "dva_number",
    "insurance_scheme",
    "insurance_member_number",
    "is_active",
)
IMPORT_COLUMNS = (
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "address_line1",
    "city",
    "state",
    "postal_code",
    "medicare_number",
    "dva_number",
    "insurance_scheme",
    "insurance_member_number",
)
REQUIRED_COLUMNS = ("given_name", "family_name", "date_of_birth")
MAX_IMPORT_BYTES = 2 * 1024 * 1024
# The parsed rows wait in the session between preview and import; this keeps it small.
MAX_IMPORT_ROWS = 2000

_SEX = {
    "f": "female",
    "female": "female",
    "m": "male",
    "male": "male",
    "x": "intersex",
    "intersex": "intersex",
    "u": "unknown",
    "unknown": "unknown",
    "not stated": "unknown",
    "": "unknown",
}
_NUMBER_LIKE = re.compile(r"^[+-][\d\s().-]*$")


# --- Export -------------------------------------------------------------------------------


def _cell(value) -> str:
    """A cell a spreadsheet will not run as a formula (phone numbers like +61 stay as-is)."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    if text[:1] in ("=", "@", "\t", "\r") or (
        text[:1] in ("+", "-") and not _NUMBER_LIKE.match(text)
    ):
        return "'" + text
    return text


def patient_csv_rows(patients: Iterable[Patient]) -> Iterator[str]:
    """CSV lines (header first) with the main demographic columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    yield buffer.getvalue()
    rows = patients.iterator(chunk_size=2000) if hasattr(patients, "iterator") else patients
    for patient in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_cell(getattr(patient, column)) for column in EXPORT_COLUMNS])
        yield buffer.getvalue()


def patient_export(*, actor: Actor, patients, filters: dict) -> Iterator[str]:
    """Record the export (one audit row with the row count; the rows' individual reads are
    covered by it) and return the CSV lines."""
    audit_record(
        actor=actor.user,
        action="export",
        organization=actor.organization,
        object_type="directory.patient",
        details={"rows": patients.count(), "filters": filters},
        actor_label=actor.label,
    )
    return patient_csv_rows(patients)


# --- Import -------------------------------------------------------------------------------


@dataclass
class ParsedUpload:
    rows: list[dict] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class RowCheck:
    number: int  # the line in the file (the header is line 1)
    values: dict
    status: str  # "ok", "error" or "duplicate"
    messages: list[str] = field(default_factory=list)
    candidate_ids: list[int] = field(default_factory=list)


@dataclass
class ImportOutcome:
    created: list[Patient] = field(default_factory=list)
    skipped_duplicates: int = 0
    failed: int = 0


def patient_import_parse(data: bytes) -> ParsedUpload:
    """Read an uploaded CSV (UTF-8, a byte-order mark tolerated) into rows of the known
    columns; unknown columns are reported and ignored."""
    parsed = ParsedUpload()
    if len(data) > MAX_IMPORT_BYTES:
        parsed.problems.append("The file is larger than 2 MB. Split it into smaller files.")
        return parsed
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        parsed.problems.append("The file is not UTF-8 text. Save it as “CSV UTF-8” and retry.")
        return parsed
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        parsed.problems.append("The file is empty.")
        return parsed
    except csv.Error as exc:
        parsed.problems.append(f"The file is not valid CSV ({exc}).")
        return parsed
    columns = [name.strip().lower().replace(" ", "_") for name in header]
    parsed.unknown_columns = [c for c in columns if c and c not in IMPORT_COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        parsed.problems.append(
            f"Required column{'s' if len(missing) > 1 else ''} missing: {', '.join(missing)}."
        )
        return parsed
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(parsed.rows) >= MAX_IMPORT_ROWS:
                parsed.problems.append(
                    f"The file has more than {MAX_IMPORT_ROWS} patients. Split it into "
                    "smaller files."
                )
                parsed.rows = []
                return parsed
            row = {"_line": reader.line_num}
            for column, cell in zip(columns, cells, strict=False):
                if column in IMPORT_COLUMNS:
                    row[column] = cell.strip()
            parsed.rows.append(row)
    except csv.Error as exc:
        parsed.problems.append(f"The file is not valid CSV (line {reader.line_num}: {exc}).")
        parsed.rows = []
    if not parsed.rows and not parsed.problems:
        parsed.problems.append("The file has a header but no patients.")
    return parsed


def _patient_fields(row: dict) -> tuple[dict, list[str]]:
    """The ``patient_create`` arguments of a row, or the cells that cannot be read."""
    fields = {c: row.get(c, "") for c in IMPORT_COLUMNS}
    problems = []
    born = fields["date_of_birth"]
    if born:
        try:
            fields["date_of_birth"] = datetime.strptime(born, "%Y-%m-%d").date()  # noqa: DTZ007
        except ValueError:
            problems.append(f"Date of birth “{born}” is not a date in the form YYYY-MM-DD.")
    else:
        fields["date_of_birth"] = None
    sex = _SEX.get(fields["sex"].lower())
    if sex is None:
        problems.append(f"Sex “{fields['sex']}” is not one of female, male, intersex, unknown.")
    else:
        fields["sex"] = sex
    return fields, problems


def _messages(exc: ApplicationError) -> list[str]:
    if not exc.fields:
        return [exc.message]
    labels = {f.name: str(f.verbose_name) for f in Patient._meta.fields}
    return [
        f"{labels.get(name, name).capitalize()}: {problem['message']}"
        for name, problems in exc.fields.items()
        for problem in problems
    ]


def patient_import_preview(
    *, actor: Actor, organization: Organization, rows: list[dict]
) -> list[RowCheck]:
    """Check every row by creating it with ``patient_create`` and rolling everything back:
    the preview applies exactly the rules the import will, including duplicates within the
    file itself. Nothing (patients, MRNs, audit rows) survives the preview."""
    checks: list[RowCheck] = []
    created_by_row: dict[int, int] = {}
    with transaction.atomic():
        for row in rows:
            values = {c: row.get(c, "") for c in IMPORT_COLUMNS}
            check = RowCheck(number=row["_line"], values=values, status="ok")
            checks.append(check)
            fields, problems = _patient_fields(row)
            if problems:
                check.status, check.messages = "error", problems
                continue
            try:
                with transaction.atomic():
                    patient = patient_create(actor=actor.user, organization=organization, **fields)
            except ApplicationError as exc:
                if exc.code == "duplicate_patient":
                    check.status = "duplicate"
                    check.candidate_ids = [
                        c["id"]
                        for c in exc.extra.get("candidates", [])
                        if c["id"] not in created_by_row
                    ]
                    check.messages = [
                        f"Same as line {created_by_row[c['id']]} of this file."
                        if c["id"] in created_by_row
                        else f"Likely the existing patient {c['name']} ({c['mrn']}), "
                        f"born {c['date_of_birth']}."
                        for c in exc.extra.get("candidates", [])
                    ]
                else:
                    check.status, check.messages = "error", _messages(exc)
            else:
                created_by_row[patient.pk] = check.number
        transaction.set_rollback(True)
    return checks


def patient_import(
    *,
    actor: Actor,
    organization: Organization,
    rows: list[dict],
    include_duplicates: bool = False,
) -> ImportOutcome:
    """Create the rows' patients with ``patient_create`` (each audited). Likely duplicates are
    skipped unless ``include_duplicates`` (then each creation records the override)."""
    outcome = ImportOutcome()
    for row in rows:
        fields, problems = _patient_fields(row)
        if problems:
            outcome.failed += 1
            continue
        try:
            outcome.created.append(
                patient_create(
                    actor=actor.user,
                    organization=organization,
                    allow_duplicate=include_duplicates,
                    **fields,
                )
            )
        except ApplicationError as exc:
            if exc.code == "duplicate_patient":
                outcome.skipped_duplicates += 1
            else:
                outcome.failed += 1
    return outcome

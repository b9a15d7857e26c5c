"""Forms of the Notes and Records tabs (rich text is sanitized by the services)."""

from django import forms

from caresync.records.models import ClinicalNote
from caresync.records.services import MEDICATION_ROUTES
from caresync.web.forms import StyledForm

RICH = {"rows": 6, "data-rich": "1"}


class NoteFilterForm(StyledForm):
    note_type = forms.ChoiceField(
        label="Type", required=False, choices=[("", "All types"), *ClinicalNote.Type.choices]
    )
    author = forms.TypedChoiceField(label="Author", required=False, coerce=int, empty_value=None)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, authors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["author"].choices = [("", "Anyone"), *[(a.pk, str(a)) for a in authors]]

    def values(self) -> dict:
        if not self.is_valid():
            return {"note_type": "", "author": None, "since": None, "until": None}
        return self.cleaned_data


class NoteForm(StyledForm):
    note_type = forms.ChoiceField(label="Type", choices=ClinicalNote.Type.choices)
    title = forms.CharField(max_length=200, required=False)
    appointment = forms.TypedChoiceField(
        label="Visit", required=False, coerce=int, empty_value=None
    )
    recipient = forms.CharField(
        max_length=200,
        required=False,
        label="To",
        help_text="Referral letters: the doctor or service it is for.",
    )
    body = forms.CharField(
        label="Note", required=False, max_length=100_000, widget=forms.Textarea(attrs=RICH)
    )
    subjective = forms.CharField(
        label="Subjective",
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs=RICH),
        help_text="What the patient reports.",
    )
    objective = forms.CharField(
        label="Objective",
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs=RICH),
        help_text="Examination, observations, results.",
    )
    assessment = forms.CharField(
        label="Assessment",
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs=RICH),
        help_text="Diagnosis or impression.",
    )
    plan = forms.CharField(
        label="Plan",
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs=RICH),
        help_text="Treatment, follow-up, referrals.",
    )
    attachments = forms.CharField(required=False, widget=forms.HiddenInput)
    draft = forms.BooleanField(
        required=False, label="Save as a draft (only you see it until you sign it)"
    )
    reason = forms.CharField(
        max_length=2000,
        required=False,
        label="Reason for the amendment",
        help_text="Required when changing a signed note; kept in its history.",
    )

    def __init__(self, *args, appointments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["appointment"].choices = [
            ("", "Not linked to a visit"),
            *[(a.pk, f"{a.start:%d %b %Y %H:%M} UTC · {a.service}") for a in appointments],
        ]

    def clean_attachments(self) -> list[int]:
        raw = self.cleaned_data.get("attachments") or ""
        try:
            return [int(part) for part in raw.split(",") if part.strip()]
        except ValueError as exc:
            raise forms.ValidationError("The uploaded files could not be read.") from exc

    def content(self) -> dict:
        data = self.cleaned_data
        return {
            name: data[name]
            for name in (
                "note_type",
                "title",
                "recipient",
                "body",
                "subjective",
                "objective",
                "assessment",
                "plan",
            )
        }


class RetractForm(StyledForm):
    reason = forms.CharField(max_length=2000, min_length=5, label="Why is it in error?")


MEDICATION_ROWS = 4


class MedicalRecordForm(StyledForm):
    appointment = forms.TypedChoiceField(
        label="Visit", required=False, coerce=int, empty_value=None
    )
    diagnosis_code = forms.CharField(
        label="ICD-10 code",
        max_length=10,
        required=False,
        widget=forms.TextInput(
            attrs={"data-icd-search": "1", "autocomplete": "off", "placeholder": "e.g. J45.9"}
        ),
        help_text="Type a code or words to search the ICD-10 list.",
    )
    diagnosis = forms.CharField(max_length=400, required=False)
    treatment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    draft = forms.BooleanField(required=False, label="Save as a draft")
    reason = forms.CharField(
        max_length=2000,
        required=False,
        label="Reason for the amendment",
        help_text="Required when changing a signed record; kept in its history.",
    )

    def __init__(self, *args, appointments=(), medication_rows=MEDICATION_ROWS, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = medication_rows
        self.fields["appointment"].choices = [
            ("", "Not linked to a visit"),
            *[(a.pk, f"{a.start:%d %b %Y %H:%M} UTC · {a.service}") for a in appointments],
        ]
        for index in range(self.rows):
            self.fields[f"med_{index}_name"] = forms.CharField(
                label="Medication", max_length=200, required=False
            )
            self.fields[f"med_{index}_dose"] = forms.CharField(
                label="Dose", max_length=100, required=False
            )
            self.fields[f"med_{index}_route"] = forms.ChoiceField(
                label="Route",
                required=False,
                choices=[("", "—"), *[(r, r.capitalize()) for r in MEDICATION_ROUTES]],
            )
            self.fields[f"med_{index}_frequency"] = forms.CharField(
                label="Frequency", max_length=100, required=False
            )
            self.fields[f"med_{index}_start"] = forms.DateField(
                label="Start", required=False, widget=forms.DateInput(attrs={"type": "date"})
            )
            self.fields[f"med_{index}_stop"] = forms.DateField(
                label="Stop", required=False, widget=forms.DateInput(attrs={"type": "date"})
            )
            for part in ("name", "dose", "route", "frequency", "start", "stop"):
                widget = self.fields[f"med_{index}_{part}"].widget
                widget.attrs["class"] = "select" if part == "route" else "input"

    @staticmethod
    def initial_for(record) -> dict:
        initial = {
            "appointment": record.appointment_id,
            "diagnosis_code": record.diagnosis_code,
            "diagnosis": record.diagnosis,
            "treatment": record.treatment,
            "notes": record.notes,
        }
        for index, medication in enumerate(record.medications):
            for part in ("name", "dose", "route", "frequency", "start", "stop"):
                initial[f"med_{index}_{part}"] = medication.get(part) or ""
        return initial

    def medication_rows(self):
        return [
            [self[f"med_{index}_{part}"] for part in ("name", "dose", "route", "frequency")]
            + [self[f"med_{index}_start"], self[f"med_{index}_stop"]]
            for index in range(self.rows)
        ]

    def clean(self):
        data = super().clean()
        for index in range(self.rows):
            parts = ("dose", "route", "frequency", "start", "stop")
            if not data.get(f"med_{index}_name") and any(
                data.get(f"med_{index}_{part}") for part in parts
            ):
                self.add_error(f"med_{index}_name", "Name the medication.")
        return data

    def content(self) -> dict:
        data = self.cleaned_data
        medications = []
        for index in range(self.rows):
            name = data.get(f"med_{index}_name")
            if not name:
                continue
            medications.append(
                {
                    "name": name,
                    "dose": data.get(f"med_{index}_dose") or "",
                    "route": data.get(f"med_{index}_route") or "",
                    "frequency": data.get(f"med_{index}_frequency") or "",
                    "start": data.get(f"med_{index}_start"),
                    "stop": data.get(f"med_{index}_stop"),
                }
            )
        return {
            "diagnosis_code": data["diagnosis_code"],
            "diagnosis": data["diagnosis"],
            "treatment": data["treatment"],
            "notes": data["notes"],
            "medications": medications,
        }


class NoteTemplateForm(StyledForm):
    """An organization admin's note template (sections are sanitized by the service)."""

    name = forms.CharField(max_length=200)
    service = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        help_text="Offered when a visit of this service is completed; none: the default.",
    )
    note_type = forms.ChoiceField(label="Type", choices=ClinicalNote.Type.choices)
    title = forms.CharField(max_length=200, required=False, help_text="Empty: the service's name.")
    body = forms.CharField(
        label="Note", required=False, max_length=100_000, widget=forms.Textarea(attrs=RICH)
    )
    subjective = forms.CharField(
        required=False, max_length=100_000, widget=forms.Textarea(attrs=RICH)
    )
    objective = forms.CharField(
        required=False, max_length=100_000, widget=forms.Textarea(attrs=RICH)
    )
    assessment = forms.CharField(
        required=False, max_length=100_000, widget=forms.Textarea(attrs=RICH)
    )
    plan = forms.CharField(required=False, max_length=100_000, widget=forms.Textarea(attrs=RICH))
    is_active = forms.BooleanField(required=False, initial=True, label="Active (offered)")

    def __init__(self, *args, services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.services = {service.pk: service for service in services}
        self.fields["service"].choices = [
            ("", "Every service without its own (default)"),
            *[(pk, service.name) for pk, service in self.services.items()],
        ]

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data["service"] = self.services.get(data["service"])
        return data

    @classmethod
    def initial_for(cls, template) -> dict:
        fields = ("name", "note_type", "title", "body", *SOAP_FIELDS, "is_active")
        return {"service": template.service_id, **{f: getattr(template, f) for f in fields}}


SOAP_FIELDS = ("subjective", "objective", "assessment", "plan")


class ClinicalAccessGrantForm(StyledForm):
    user = forms.TypedChoiceField(label="Staff member", coerce=int)
    reason = forms.CharField(
        max_length=2000,
        min_length=5,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why they need to read clinical content; kept with the grant and audited.",
    )
    days = forms.IntegerField(
        min_value=1, max_value=90, initial=7, label="Days", help_text="Between 1 and 90."
    )

    def __init__(self, *args, staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.staff = {user.pk: user for user in staff}
        self.fields["user"].choices = [
            ("", "Choose a staff member"),
            *[(pk, f"{user} ({user.email})") for pk, user in self.staff.items()],
        ]

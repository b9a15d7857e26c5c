"""Forms of the directory pages. They convert input only: the services validate the models
(``full_clean``) and the views show a refusal on the form with ``form_errors_from``."""

from django import forms

from caresync.accounts.views import time_zone_choices
from caresync.directory.models import (
    PATIENT_EDITABLE_FIELDS,
    CareTeamMember,
    Location,
    Modality,
    Patient,
    Practitioner,
    Resource,
    Service,
)
from caresync.web.forms import StyledForm, StyledFormMixin

CHANNEL_CHOICES = [("email", "Email"), ("sms", "SMS"), ("phone", "Phone call")]
MODALITY_CHOICES = [("", "Not imaging"), *Modality.choices]
CHECKBOX_LIST = forms.CheckboxSelectMultiple(attrs={"class": "choice-list__input"})


def _date_input():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ScopedChoicesMixin:
    """Querysets scoped to the actor (``scoped_querysets``: keyword → field), set before
    ``StyledFormMixin`` validates a bound form to mark its invalid fields."""

    scoped_querysets: dict[str, str] = {}

    def __init__(self, *args, **kwargs):
        scoped = {field: kwargs.pop(arg) for arg, field in self.scoped_querysets.items()}
        super().__init__(*args, **kwargs)
        for field, queryset in scoped.items():
            self.fields[field].queryset = queryset


class ServiceValidatedForm(StyledFormMixin, ScopedChoicesMixin, forms.ModelForm):
    """A model form that never touches its instance: the directory service validates and
    saves (``_post_clean`` would run ``full_clean`` twice and mutate the instance)."""

    def _post_clean(self):
        pass


# --- Patients ------------------------------------------------------------------------------


class PatientFilterForm(StyledForm):
    STATUS_CHOICES = [("active", "Active"), ("inactive", "Inactive"), ("all", "All")]
    SORT_CHOICES = [("name", "Name"), ("dob", "Date of birth"), ("created", "Newest first")]
    ORDERING = {
        "name": (),  # the search's own order (by name; case-insensitive for name searches)
        "dob": ("date_of_birth", "family_name", "pk"),
        "created": ("-created_at", "-pk"),
    }

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.SearchInput(attrs={"placeholder": "Name, MRN, date of birth, phone or email"}),
    )
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    sort = forms.ChoiceField(label="Sort by", choices=SORT_CHOICES, required=False)

    def values(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "q": data.get("q", ""),
            "status": data.get("status") or "active",
            "ordering": self.ORDERING[data.get("sort") or "name"],
        }


PATIENT_FORM_FIELDS = list(PATIENT_EDITABLE_FIELDS)


class PatientForm(ServiceValidatedForm):
    """Every demographic a front desk records (``patient_create`` / ``patient_update``)."""

    preferred_channels = forms.MultipleChoiceField(
        label="Preferred contact channels",
        choices=CHANNEL_CHOICES,
        required=False,
        widget=CHECKBOX_LIST,
    )

    WIDE_FIELDS = ("allergies", "medical_history")
    FIELDSETS = (
        ("Identity", ["given_name", "family_name", "preferred_name", "date_of_birth", "sex"]),
        ("Contact", ["phone", "email", "preferred_language"]),
        ("Address", ["address_line1", "address_line2", "city", "state", "postal_code", "country"]),
        (
            "Emergency contact",
            [
                "emergency_contact_name",
                "emergency_contact_phone",
                "emergency_contact_relationship",
            ],
        ),
        ("Identification", ["medicare_number", "medicare_irn", "dva_number", "national_id"]),
        (
            "Insurance / medical aid",
            [
                "insurance_scheme",
                "insurance_member_number",
                "insurance_plan",
                "insurance_main_member",
            ],
        ),
        ("Clinical basics", ["blood_type", "gender_identity", "allergies", "medical_history"]),
    )

    class Meta:
        model = Patient
        fields = PATIENT_FORM_FIELDS
        labels = {
            "address_line1": "Address",
            "address_line2": "Address (line 2)",
            "country": "Country code",
            "emergency_contact_name": "Name",
            "emergency_contact_phone": "Phone",
            "emergency_contact_relationship": "Relationship",
            "insurance_scheme": "Scheme",
            "insurance_member_number": "Member number",
            "insurance_plan": "Plan",
            "insurance_main_member": "Main member",
            "consent_treatment": "Consents to treatment",
            "consent_data_sharing": "Consents to sharing data with other providers",
            "consent_sms": "Agrees to SMS reminders",
            "consent_email": "Agrees to email",
        }
        help_texts = {
            "country": "Two letters, e.g. AU.",
            "preferred_language": "A language code, e.g. en.",
            "allergies": "Shown as a warning on the patient's header.",
        }
        widgets = {
            "date_of_birth": _date_input(),
            "phone": forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
            "allergies": forms.Textarea(attrs={"rows": 2}),
            "medical_history": forms.Textarea(attrs={"rows": 4}),
        }

    def fieldsets(self):
        return [(title, [self[name] for name in names]) for title, names in self.FIELDSETS]

    def consents(self):
        return [
            self[name]
            for name in (
                "consent_treatment",
                "consent_data_sharing",
                "consent_sms",
                "consent_email",
            )
        ]


class CareTeamAssignForm(StyledFormMixin, ScopedChoicesMixin, forms.Form):
    practitioner = forms.ModelChoiceField(queryset=Practitioner.objects.none())
    role = forms.ChoiceField(choices=CareTeamMember.Role.choices)
    start_date = forms.DateField(
        required=False, widget=_date_input(), help_text="Today when empty."
    )
    notes = forms.CharField(max_length=200, required=False)

    scoped_querysets = {"practitioners": "practitioner"}


class PatientImportUploadForm(StyledForm):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8, at most 2 MB. The first row names the columns.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


# --- Practitioners -------------------------------------------------------------------------


class PractitionerFilterForm(StyledForm):
    ACCEPTING_CHOICES = [("", "Any"), ("yes", "Accepting new patients"), ("no", "Not accepting")]

    q = forms.CharField(
        label="Search",
        required=False,
        widget=forms.SearchInput(attrs={"placeholder": "Name or specialization"}),
    )
    kind = forms.ChoiceField(
        choices=[("", "All kinds"), *Practitioner.Kind.choices], required=False
    )
    accepting = forms.ChoiceField(choices=ACCEPTING_CHOICES, required=False)


class LanguagesField(forms.CharField):
    """Comma-separated language codes ↔ a list."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        text = super().to_python(value)
        return [part.strip() for part in text.split(",") if part.strip()]


class PractitionerForm(ServiceValidatedForm):
    languages = LanguagesField(required=False, help_text="Comma-separated, e.g. en, ne, hi.")
    locations = forms.ModelMultipleChoiceField(
        queryset=Location.objects.none(), required=False, widget=CHECKBOX_LIST
    )

    class Meta:
        model = Practitioner
        fields = [
            "kind",
            "title",
            "specialization",
            "license_number",
            "years_of_experience",
            "consultation_fee",
            "bio",
            "languages",
            "accepting_new_patients",
            "locations",
        ]
        widgets = {"bio": forms.Textarea(attrs={"rows": 5})}

    scoped_querysets = {"locations": "locations"}


class PractitionerCreateForm(PractitionerForm):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)

    ACCOUNT_FIELDS = ("email", "first_name", "last_name")


# --- Services, locations, resources ---------------------------------------------------------


def resource_need_choices() -> list[tuple[str, str]]:
    """``kind:modality`` pairs, e.g. ``scanner:MR`` → "Scanner · MRI"."""
    choices = [(f"{Resource.Kind.ROOM}:", "Room"), (f"{Resource.Kind.EQUIPMENT}:", "Equipment")]
    choices.append((f"{Resource.Kind.SCANNER}:", "Scanner · any modality"))
    choices += [
        (f"{Resource.Kind.SCANNER}:{code}", f"Scanner · {label}")
        for code, label in Modality.choices
    ]
    return choices


class ServiceForm(ServiceValidatedForm):
    practitioners = forms.ModelMultipleChoiceField(
        queryset=Practitioner.objects.none(), required=False, widget=CHECKBOX_LIST
    )
    resource_needs = forms.MultipleChoiceField(
        label="Resources needed",
        choices=resource_need_choices,
        required=False,
        widget=CHECKBOX_LIST,
        help_text="Held for the whole appointment, e.g. an MRI scanner.",
    )

    class Meta:
        model = Service
        fields = [
            "name",
            "category",
            "modality",
            "description",
            "preparation_instructions",
            "duration_minutes",
            "buffer_before_minutes",
            "buffer_after_minutes",
            "price",
            "tax_rate",
            "practitioners",
            "requires_approval",
            "requires_prepayment",
            "min_notice_minutes",
            "booking_horizon_days",
            "cancellation_window_hours",
            "is_active",
        ]
        labels = {
            "duration_minutes": "Duration (minutes)",
            "buffer_before_minutes": "Buffer before (minutes)",
            "buffer_after_minutes": "Buffer after (minutes)",
            "tax_rate": "Tax rate (%)",
            "min_notice_minutes": "Minimum notice (minutes)",
            "booking_horizon_days": "Bookable up to (days ahead)",
            "cancellation_window_hours": "Free cancellation until (hours before)",
            "requires_approval": "Bookings need approval by staff",
            "requires_prepayment": "Patients pay when booking",
            "is_active": "Offered for booking",
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "preparation_instructions": forms.Textarea(attrs={"rows": 3}),
        }

    scoped_querysets = {"practitioners": "practitioners"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["modality"].choices = MODALITY_CHOICES
        if self.instance.pk:
            self.initial["resource_needs"] = [
                f"{need.kind}:{need.modality}" for need in self.instance.resource_needs.all()
            ]

    def clean_resource_needs(self):
        needs = []
        for value in self.cleaned_data["resource_needs"]:
            kind, _, modality = value.partition(":")
            needs.append({"kind": kind, "modality": modality})
        return needs


class LocationForm(ServiceValidatedForm):
    time_zone = forms.ChoiceField(choices=time_zone_choices)

    class Meta:
        model = Location
        fields = ["name", "address", "time_zone", "phone", "is_active"]
        labels = {"is_active": "In use"}
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}


class ResourceForm(ServiceValidatedForm):
    class Meta:
        model = Resource
        fields = ["name", "kind", "modality", "location", "is_active"]
        labels = {"is_active": "In use"}
        help_texts = {"modality": "For scanners: what it images."}

    scoped_querysets = {"locations": "location"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["modality"].choices = MODALITY_CHOICES

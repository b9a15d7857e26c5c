"""Scheduling page forms: the booking steps, lifecycle actions, list filters and the
calendar's event window. Querysets come from the actor-scoped selectors."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone

from caresync.scheduling.models import Appointment
from caresync.scheduling.services import TRANSITIONS
from caresync.web.forms import StyledForm

ANY = "any"
# Every lifecycle action a page may ask for (moves have their own page).
ACTIONS = sorted({action for moves in TRANSITIONS.values() for action in moves})


class BookingForm(StyledForm):
    """The booking steps (GET, all optional) and the confirmation (POST, all required but
    the practitioner, the patient for patients, and the reason)."""

    patient = forms.ModelChoiceField(queryset=None, required=False, widget=forms.HiddenInput)
    service = forms.ModelChoiceField(queryset=None, required=False, widget=forms.HiddenInput)
    practitioner = forms.CharField(required=False, widget=forms.HiddenInput)
    day = forms.DateField(required=False, widget=forms.HiddenInput)
    start = forms.DateTimeField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason for the visit",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "e.g. Follow-up on blood tests"}),
        help_text="Helps your practitioner prepare. Visible to the clinic only.",
    )

    def __init__(self, *args, patients, services, practitioners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = patients
        self.fields["service"].queryset = services
        self.practitioners = practitioners

    def clean_start(self):
        start = self.cleaned_data.get("start")
        if start is not None and timezone.is_naive(start):
            raise forms.ValidationError("Give the time with its offset.")
        return start

    def clean(self):
        data = super().clean()
        wanted = (data.get("practitioner") or "").strip()
        data["practitioner_choice"] = None  # None: not chosen yet; ANY or a Practitioner
        if wanted == ANY:
            data["practitioner_choice"] = ANY
        elif wanted:
            service = data.get("service")
            found = None
            if wanted.isdigit() and service is not None:
                found = self.practitioners.filter(pk=int(wanted), services=service).first()
            if found is None:
                self.add_error("practitioner", "Choose a practitioner who offers this service.")
            data["practitioner_choice"] = found
        return data


class MoveForm(StyledForm):
    """The reschedule page: which two weeks and day to show (GET), and the chosen time
    (POST). Clinic members may also pick another practitioner offering the service."""

    start = forms.DateTimeField(required=False, widget=forms.HiddenInput)
    day = forms.DateField(required=False, widget=forms.HiddenInput)
    # "from" is a Python keyword: the field is added in __init__.
    practitioner = forms.ModelChoiceField(
        queryset=None, required=False, empty_label=None, label="Practitioner"
    )
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shown in the appointment's history.",
    )

    def __init__(self, *args, practitioners, clinic: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from"] = forms.DateField(required=False, widget=forms.HiddenInput)
        if clinic:
            self.fields["practitioner"].queryset = practitioners
        else:
            del self.fields["practitioner"]

    def clean_start(self):
        start = self.cleaned_data.get("start")
        if start is not None and timezone.is_naive(start):
            raise forms.ValidationError("Give the time with its offset.")
        return start


class TransitionForm(StyledForm):
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS], widget=forms.HiddenInput)
    reason = forms.CharField(max_length=500, required=False)
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class AppointmentFilterForm(StyledForm):
    WHEN_CHOICES = [("upcoming", "Upcoming"), ("past", "Past"), ("all", "Any time")]
    SCOPE_CHOICES = [("mine", "My appointments"), ("all", "Everyone's")]

    when = forms.ChoiceField(label="When", choices=WHEN_CHOICES, required=False)
    status = forms.ChoiceField(
        choices=[("", "Any status"), *Appointment.Status.choices], required=False
    )
    day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    scope = forms.ChoiceField(label="Whose", choices=SCOPE_CHOICES, required=False)

    def values(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "when": data.get("when") or "upcoming",
            "status": data.get("status") or "",
            "day": data.get("day"),
            "scope": data.get("scope") or "mine",
        }


class CalendarWindowForm(forms.Form):
    """FullCalendar's ``start``/``end`` parameters. With a named time zone and no time-zone
    plugin it sends wall times without an offset: those are read in the clinic's zone (the
    view validates under ``timezone.override(zone)``, which Django uses for naive input)."""

    start = forms.DateTimeField()
    end = forms.DateTimeField()

    def __init__(self, *args, zone: ZoneInfo, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = zone

    def _aware(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            return value.replace(tzinfo=self.zone)
        return value

    def clean(self):
        data = super().clean()
        if "start" in data and "end" in data:
            data["start"], data["end"] = self._aware(data["start"]), self._aware(data["end"])
            if data["end"] <= data["start"]:
                raise forms.ValidationError("The window must end after it starts.")
            if (data["end"] - data["start"]).days > 42:
                raise forms.ValidationError("Ask for at most six weeks at a time.")
        return data


def local_midnight(day, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)

"""Forms of the recurring-series pages: the "Repeat" choice at the booking confirm step and
cancelling one occurrence or the rest. Querysets come from the actor-scoped selectors."""

from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone

from caresync.scheduling.services.series import series_time_zone
from caresync.web.forms import StyledForm

EVERY_CHOICES = [
    (1, "Every week"),
    (2, "Every 2 weeks"),
    (3, "Every 3 weeks"),
    (4, "Every 4 weeks"),
]
ENDS_CHOICES = [("count", "After a number of visits"), ("until", "On a date")]


class SeriesRepeatForm(StyledForm):
    """The first visit (hidden, from the booking steps) and how it repeats."""

    patient = forms.ModelChoiceField(queryset=None, widget=forms.HiddenInput)
    service = forms.ModelChoiceField(queryset=None, widget=forms.HiddenInput)
    practitioner = forms.ModelChoiceField(queryset=None, widget=forms.HiddenInput)
    start = forms.DateTimeField(widget=forms.HiddenInput)
    every = forms.TypedChoiceField(label="Repeat", choices=EVERY_CHOICES, coerce=int, initial=1)
    ends = forms.ChoiceField(label="Ends", choices=ENDS_CHOICES, initial="count")
    count = forms.IntegerField(
        label="Number of visits",
        min_value=2,
        max_value=52,
        required=False,
        initial=6,
        help_text="When it ends after a number of visits.",
    )
    until = forms.DateField(
        label="Last date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="When it ends on a date.",
    )
    reason = forms.CharField(label="Reason for the visits", max_length=500, required=False)

    def __init__(self, *args, patients, services, practitioners, **kwargs):
        # Own element ids: the booking confirm step shows this form next to the booking
        # form, which has a ``reason`` too.
        kwargs.setdefault("auto_id", "repeat_%s")
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs["aria-describedby"] = f"repeat_{name}_hint"
        self.fields["patient"].queryset = patients
        self.fields["service"].queryset = services
        self.fields["practitioner"].queryset = practitioners

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-describedby"] = f"repeat_{name}_error"

    def clean_start(self):
        start = self.cleaned_data["start"]
        if timezone.is_naive(start):
            raise forms.ValidationError("Give the time with its offset.")
        return start

    def clean(self):
        data = super().clean()
        service, practitioner = data.get("service"), data.get("practitioner")
        if (
            service
            and practitioner
            and not service.practitioners.filter(pk=practitioner.pk).exists()
        ):
            self.add_error("practitioner", "Choose a practitioner who offers this service.")
        if data.get("ends") == "count" and not data.get("count"):
            self.add_error("count", "How many visits?")
        if data.get("ends") == "until":
            until, start = data.get("until"), data.get("start")
            if until is None:
                self.add_error("until", "Choose the last date.")
            elif start is not None and practitioner is not None:
                zone = series_time_zone(
                    organization=practitioner.organization, practitioner=practitioner
                )
                if until < start.astimezone(ZoneInfo(zone)).date():
                    self.add_error("until", "The last date is before the first visit.")
        return data

    @property
    def rrule(self) -> str:
        data = self.cleaned_data
        interval = f";INTERVAL={data['every']}" if data["every"] != 1 else ""
        if data["ends"] == "until":
            return f"FREQ=WEEKLY{interval};UNTIL={data['until']:%Y%m%d}"
        return f"FREQ=WEEKLY{interval};COUNT={data['count']}"

    def hidden_values(self) -> dict:
        """Every field as submitted, to carry from the preview to the booking."""
        data = self.cleaned_data
        return {
            "patient": data["patient"].pk,
            "service": data["service"].pk,
            "practitioner": data["practitioner"].pk,
            "start": data["start"].isoformat(),
            "every": data["every"],
            "ends": data["ends"],
            "count": data.get("count") or "",
            "until": data["until"].isoformat() if data.get("until") else "",
            "reason": data.get("reason", ""),
        }


class SeriesCancelForm(StyledForm):
    SCOPES = [("this", "This occurrence"), ("following", "This and following")]

    scope = forms.ChoiceField(choices=SCOPES, widget=forms.HiddenInput)
    reason = forms.CharField(max_length=500, required=False)

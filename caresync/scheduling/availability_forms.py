"""Forms of the working-hours editor: weekly rules, time off / extra hours, closures.
Querysets come from the actor-scoped selectors; times are local to the practitioner."""

from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone

from caresync.scheduling.models import AvailabilityException, AvailabilityRule
from caresync.web.forms import StyledForm

CHECKBOXES = forms.CheckboxSelectMultiple(attrs={"class": "choice-list__input"})
FIRST_YEAR, LAST_YEAR = 1900, 2199


def sensible_year(value) -> None:
    """Dates far outside any schedule would overflow date arithmetic: refuse them."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise forms.ValidationError(
            f"Choose a date between {FIRST_YEAR} and {LAST_YEAR}.", code="out_of_range"
        )


class RuleForm(StyledForm):
    """A weekly interval. Adding: on one or several weekdays; editing: one weekday."""

    weekdays = forms.TypedMultipleChoiceField(
        label="Days",
        choices=AvailabilityRule.Weekday.choices,
        coerce=int,
        widget=CHECKBOXES,
    )
    weekday = forms.TypedChoiceField(
        label="Day", choices=AvailabilityRule.Weekday.choices, coerce=int
    )
    start_time = forms.TimeField(
        label="From", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    end_time = forms.TimeField(
        label="Until", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    location = forms.ModelChoiceField(queryset=None, empty_label=None)
    effective_from = forms.DateField(
        label="First day",
        validators=[sensible_year],
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Leave empty to start now.",
    )
    effective_to = forms.DateField(
        label="Last day",
        validators=[sensible_year],
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Leave empty to repeat every week.",
    )
    services = forms.ModelMultipleChoiceField(
        label="Only for these services",
        queryset=None,
        required=False,
        widget=CHECKBOXES,
        help_text="None ticked: every service the practitioner offers.",
    )

    def __init__(self, *args, locations, services, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations
        self.fields["services"].queryset = services
        del self.fields["weekdays" if editing else "weekday"]
        self.editing = editing

    def clean(self):
        data = super().clean()
        start, end = data.get("start_time"), data.get("end_time")
        if start and end and end <= start:
            self.add_error("end_time", "The end must be after the start.")
        first, last = data.get("effective_from"), data.get("effective_to")
        if first and last and last < first:
            self.add_error("effective_to", "The last day must not be before the first day.")
        return data


class ExceptionForm(StyledForm):
    """Time off or extra hours, in local wall time of ``zone``."""

    kind = forms.ChoiceField(label="What", choices=AvailabilityException.Kind.choices)
    start = forms.DateTimeField(
        label="From",
        validators=[sensible_year],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    end = forms.DateTimeField(
        label="Until",
        validators=[sensible_year],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    reason = forms.CharField(
        label="Note",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Annual leave, conference"}),
        help_text="Seen by the clinic only.",
    )

    def __init__(self, *args, zone: ZoneInfo, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = zone

    def full_clean(self):
        # Naive wall times are read in the practitioner's zone; a time inside a DST gap is
        # refused by the field with a clear message.
        with timezone.override(self.zone):
            super().full_clean()

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", "The end must be after the start.")
        return data


class ClosureForm(StyledForm):
    start_date = forms.DateField(
        label="First day",
        validators=[sensible_year],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end_date = forms.DateField(
        label="Last day",
        validators=[sensible_year],
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Leave empty for a single day.",
    )
    reason = forms.CharField(
        max_length=200, widget=forms.TextInput(attrs={"placeholder": "e.g. Staff training day"})
    )

    def clean(self):
        data = super().clean()
        first, last = data.get("start_date"), data.get("end_date")
        if first and last and last < first:
            self.add_error("end_date", "The last day must not be before the first day.")
        return data

"""Availability, closures and appointments. Double booking is impossible in the database:
PostgreSQL exclusion constraints (migration 0002) over practitioner, patient and resource
time ranges of blocking appointments; on SQLite, writes are serialized and re-checked."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from caresync.accounts.models import Organization
from caresync.directory.models import Location, Patient, Practitioner, Resource, Service


class AvailabilityRule(models.Model):
    """Weekly working hours of a practitioner, in the location's local wall time."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="availability_rules"
    )
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, related_name="availability_rules"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()
    effective_from = models.DateField(null=True, blank=True)
    effective_to = models.DateField(null=True, blank=True)
    services = models.ManyToManyField(
        Service, blank=True, related_name="+", help_text="Only these services (empty: all)."
    )

    class Meta:
        ordering = ["practitioner", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")), name="availability_rule_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_from__isnull=True)
                | Q(effective_to__gte=F("effective_from")),
                name="availability_rule_effective_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.practitioner} {self.get_weekday_display()} {self.start_time}–{self.end_time}"


class AvailabilityException(models.Model):
    """Time off (leave, meetings) or extra working time, as an absolute interval."""

    class Kind(models.TextChoices):
        TIME_OFF = "time_off", "Time off"
        EXTRA = "extra", "Extra availability"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="availability_exceptions"
    )
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, related_name="availability_exceptions"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="availability_exception_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.practitioner} {self.kind} {self.start:%Y-%m-%d %H:%M}"


class Closure(models.Model):
    """Days the organization is closed (besides public holidays), organization-local dates."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="closures"
    )
    start_date = models.DateField()
    end_date = models.DateField()
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="closure_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reason} ({self.start_date}–{self.end_date})"


class AppointmentSeries(models.Model):
    """A recurring booking: the occurrences of an RFC 5545 RRULE (weekly, every N weeks,
    until a date or a count), booked all-or-nothing. Recurrence is in local wall time, so
    a 09:00 visit stays at 09:00 across DST changes."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"
        CANCELLED = "cancelled", "Cancelled"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="appointment_series"
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="appointment_series"
    )
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, related_name="appointment_series"
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    rrule = models.CharField(max_length=500, help_text="RFC 5545 RRULE, e.g. FREQ=WEEKLY;COUNT=6")
    first_start = models.DateTimeField()
    time_zone = models.CharField(max_length=64, help_text="Zone of the recurring wall time.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "appointment series"

    def __str__(self) -> str:
        return f"{self.service} · {self.patient} · {self.rrule}"


class Appointment(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        PROPOSED = "proposed", "Proposed"
        SCHEDULED = "scheduled", "Scheduled"
        CONFIRMED = "confirmed", "Confirmed"
        CHECKED_IN = "checked_in", "Checked in"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        REJECTED = "rejected", "Rejected"
        NO_SHOW = "no_show", "No-show"

    BLOCKING = ("requested", "proposed", "scheduled", "confirmed", "checked_in", "in_progress")

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="appointments"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, related_name="appointments"
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="appointments")
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices)
    reason = models.CharField(max_length=500, blank=True)
    notes = models.TextField(blank=True)
    hold_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="A request's hold lapses at this time."
    )
    series = models.ForeignKey(
        AppointmentSeries,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start"]
        indexes = [
            models.Index(fields=["practitioner", "start"]),
            models.Index(fields=["patient", "start"]),
            models.Index(fields=["organization", "status", "start"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="appointment_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service} · {self.patient} · {self.start:%Y-%m-%d %H:%M}"

    @property
    def is_blocking(self) -> bool:
        return self.status in self.BLOCKING


class AppointmentResource(models.Model):
    """A resource an appointment holds; the range and blocking flag are copied from the
    appointment so the database can refuse overlaps per resource."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="resource_holds"
    )
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="holds")
    start = models.DateTimeField()
    end = models.DateTimeField()
    blocking = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "resource"], name="appointment_resource_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource} for {self.appointment_id}"


class AppointmentEvent(models.Model):
    """The history of an appointment: every transition and reschedule, who and why."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    from_start = models.DateTimeField(null=True, blank=True)
    to_start = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.appointment_id}: {self.from_status or '∅'} → {self.to_status}"


class IdempotencyKey(models.Model):
    """A booking request's ``Idempotency-Key`` and the response it produced (24 h)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user")
        ]

    def __str__(self) -> str:
        return self.key


class WaitlistEntry(models.Model):
    """A patient waiting for an earlier or any time for a service; offered freed slots in
    the order they joined."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        OFFERED = "offered", "Offered"
        BOOKED = "booked", "Booked"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    class DayPart(models.TextChoices):
        MORNING = "morning", "Morning (before 12:00)"
        AFTERNOON = "afternoon", "Afternoon (12:00–17:00)"
        EVENING = "evening", "Evening (after 17:00)"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="waitlist_entries")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    practitioner = models.ForeignKey(
        Practitioner, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    earliest_date = models.DateField(null=True, blank=True)
    latest_date = models.DateField(null=True, blank=True)
    preferred_times = models.JSONField(
        default=list, blank=True, help_text="Day parts (morning, afternoon, evening); empty: any."
    )
    notes = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "waitlist entries"
        indexes = [models.Index(fields=["organization", "service", "status", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(latest_date__isnull=True)
                | Q(earliest_date__isnull=True)
                | Q(latest_date__gte=F("earliest_date")),
                name="waitlist_entry_date_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient} waiting for {self.service}"


class WaitlistOffer(models.Model):
    """A freed slot offered to a waitlisted patient through a signed claim link that
    expires; the first claim books it through the booking service."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLAIMED = "claimed", "Claimed"
        EXPIRED = "expired", "Expired"
        WITHDRAWN = "withdrawn", "Withdrawn"

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    practitioner = models.ForeignKey(Practitioner, on_delete=models.PROTECT, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"Offer {self.start:%Y-%m-%d %H:%M} to entry {self.entry_id}"


class CalendarFeed(models.Model):
    """A practitioner's secret iCalendar feed URL. Only a SHA-256 of the token is stored,
    so the URL is shown once; revoking (or replacing) it stops the old URL at once."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, related_name="calendar_feeds"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["practitioner"],
                condition=Q(revoked_at__isnull=True),
                name="one_live_calendar_feed_per_practitioner",
            )
        ]

    def __str__(self) -> str:
        return f"Calendar feed of {self.practitioner}"

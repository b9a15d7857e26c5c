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

"""The transactional outbox: domain events written in the same transaction as the change
they describe. Delivery (email, SMS, in-app) reads them after commit."""

from django.conf import settings
from django.db import models

from caresync.accounts.models import Organization


class OutboxEvent(models.Model):
    """Something that happened (``appointment.approved``, ``waitlist.offered``...), with
    the ids delivery needs; never PHI beyond identifiers."""

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=64)
    subject = models.CharField(max_length=64, help_text="What it is about: 'appointment:42'.")
    payload = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(dispatched_at__isnull=True),
                name="outbox_undispatched",
            ),
            models.Index(fields=["subject", "id"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject}"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    IN_APP = "in_app", "In-app"


class Notification(models.Model):
    """One message to one recipient on one channel, written in the transaction of the event
    it tells about and delivered after commit (``services.delivery``). The row is the
    delivery record: status, attempts, provider id; for in-app messages, also the inbox."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outbox_event = models.ForeignKey(
        OutboxEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="notifications"
    )
    event_kind = models.CharField(max_length=64)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    patient = models.ForeignKey(
        "directory.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    # "patient:<id>" or "user:<id>": one key for the fan-out uniqueness (FKs may be null).
    recipient_key = models.CharField(max_length=40)
    to_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()
    html = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True)
    provider_status = models.CharField(max_length=30, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["outbox_event", "channel", "recipient_key"],
                condition=models.Q(outbox_event__isnull=False),
                name="notification_once_per_event_channel_recipient",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="queued"),
                name="notification_due",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=models.Q(status="sending"),
                name="notification_sending",
            ),
            models.Index(fields=["recipient_user", "channel", "read_at"]),
            models.Index(fields=["patient", "created_at"]),
            models.Index(fields=["organization", "created_at"]),
            models.Index(fields=["provider_message_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_kind} {self.channel} → {self.recipient_key} ({self.status})"


class DeliveryAttempt(models.Model):
    """One try at handing a notification to its transport (append-only)."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="delivery_attempts"
    )
    at = models.DateTimeField()
    transport = models.CharField(max_length=60)
    ok = models.BooleanField()
    permanent = models.BooleanField(default=False)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    provider_message_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.transport} {'ok' if self.ok else 'failed'} at {self.at:%Y-%m-%d %H:%M:%S}"


class NotificationTemplate(models.Model):
    """An organization's wording for one event on one channel (seed 004); without one, the
    shipped default applies. Rendered in a sandbox (``rendering``)."""

    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_templates",
        help_text="Empty: an installation-wide override of the shipped default.",
    )
    event_kind = models.CharField(max_length=64)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()
    html = models.TextField(blank=True, help_text="Optional HTML body for email.")
    is_active = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["event_kind", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "event_kind", "channel"],
                name="notification_template_unique",
            ),
            models.UniqueConstraint(
                fields=["event_kind", "channel"],
                condition=models.Q(organization__isnull=True),
                name="notification_template_unique_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_kind} ({self.channel})"


class NotificationSettings(models.Model):
    """Per-organization notification choices."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="notification_settings"
    )
    sms_include_service = models.BooleanField(
        default=False,
        help_text="Name the service in text messages (off: no clinical detail in SMS).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Notification settings of {self.organization}"


class ContactPreference(models.Model):
    """How a patient wants to hear from the clinic; without a row, defaults follow the
    patient's contact details and consents (``recipients.patient_channels``)."""

    patient = models.OneToOneField(
        "directory.Patient", on_delete=models.CASCADE, related_name="contact_preference"
    )
    email = models.BooleanField(default=True)
    sms = models.BooleanField(default=True)
    in_app = models.BooleanField(default=True)
    quiet_start = models.TimeField(null=True, blank=True, help_text="Local time, e.g. 21:00.")
    quiet_end = models.TimeField(null=True, blank=True, help_text="Local time, e.g. 08:00.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Contact preferences of patient {self.patient_id}"


class SmsOptOut(models.Model):
    """A phone number that replied STOP: no text messages until it replies START."""

    phone = models.CharField(max_length=32, unique=True, help_text="E.164, e.g. +61412345678")
    opted_out_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.phone


class ReminderSchedule(models.Model):
    """When reminders go out for an organization's appointments (of one service, or of
    every service without its own schedule): minutes before the start."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="reminder_schedules"
    )
    service = models.ForeignKey(
        "directory.Service",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reminder_schedules",
    )
    offsets_minutes = models.JSONField(default=list, help_text="e.g. [1440, 120]")
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "service"], name="reminder_schedule_unique"
            ),
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(service__isnull=True),
                name="reminder_schedule_unique_default",
            ),
        ]

    def __str__(self) -> str:
        return f"Reminders {self.offsets_minutes} for {self.service or self.organization}"


class Reminder(models.Model):
    """One reminder of one appointment at one offset. The uniqueness of (appointment,
    offset) and the conditional pending → sent claim make a second send impossible."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"
        SKIPPED = "skipped", "Skipped"

    appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.CASCADE, related_name="reminders"
    )
    offset_minutes = models.PositiveIntegerField()
    due_at = models.DateTimeField()
    armed_for = models.DateTimeField(help_text="The appointment start this reminder is for.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    outbox_event = models.ForeignKey(
        OutboxEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "offset_minutes"], name="reminder_once_per_offset"
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_at"], condition=models.Q(status="pending"), name="reminder_due"
            ),
        ]

    def __str__(self) -> str:
        return f"Reminder {self.offset_minutes} min before appointment {self.appointment_id}"


class InboundMessage(models.Model):
    """A text message received from a patient's phone (Twilio inbound webhook)."""

    class Action(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed the next appointment"
        CANCELLED = "cancelled", "Cancelled the next appointment"
        REFUSED = "refused", "Asked to change; told to call"
        OPTED_OUT = "opted_out", "Opted out of SMS"
        OPTED_IN = "opted_in", "Opted back in to SMS"
        INBOX = "inbox", "For staff"

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        "directory.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inbound_messages",
    )
    from_number = models.CharField(max_length=32)
    to_number = models.CharField(max_length=32, blank=True)
    body = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=100, unique=True)
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.INBOX)
    received_at = models.DateTimeField()
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    reply = models.ForeignKey(
        Notification, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["organization", "handled_at", "received_at"])]

    def __str__(self) -> str:
        return f"SMS from {self.from_number}"


class OfflineSms(models.Model):
    """A text message kept by the offline SMS backend instead of being sent (development
    "SMS outbox" page)."""

    sid = models.CharField(max_length=40, unique=True)
    to = models.CharField(max_length=32)
    from_number = models.CharField(max_length=32, blank=True)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"SMS to {self.to}"

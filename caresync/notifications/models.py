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

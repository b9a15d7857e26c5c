"""Writes for practitioners' secret calendar feeds: create (replacing), revoke, record use."""

import secrets

from django.db import transaction
from django.utils import timezone

from caresync.accounts.models import User
from caresync.core.audit import audit_record
from caresync.directory.models import Practitioner
from caresync.scheduling.models import CalendarFeed
from caresync.scheduling.selectors import calendar_feed_token_hash


@transaction.atomic
def calendar_feed_create(
    *, actor: User | None, practitioner: Practitioner
) -> tuple[CalendarFeed, str]:
    """A new secret feed URL token for the practitioner; any live feed is revoked first, so
    the old URL stops working. Returns the feed and the token (shown once, never stored)."""
    # Serializes concurrent replacements for one practitioner (one live feed at a time is
    # also a database constraint).
    Practitioner.objects.select_for_update().filter(pk=practitioner.pk).first()
    now = timezone.now()
    replaced = list(
        CalendarFeed.objects.filter(practitioner=practitioner, revoked_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    if replaced:
        CalendarFeed.objects.filter(pk__in=replaced).update(revoked_at=now)
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(
        organization=practitioner.organization,
        practitioner=practitioner,
        token_hash=calendar_feed_token_hash(token),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_record(
        actor=actor,
        action="token_issued",
        organization=practitioner.organization,
        obj=feed,
        details={"practitioner": practitioner.pk, "replaced": replaced},
    )
    return feed, token


@transaction.atomic
def calendar_feed_revoke(*, actor: User | None, feed: CalendarFeed) -> CalendarFeed:
    """Stop a feed URL at once (revoking a revoked feed changes nothing)."""
    if feed.revoked_at is not None:
        return feed
    feed.revoked_at = timezone.now()
    CalendarFeed.objects.filter(pk=feed.pk, revoked_at__isnull=True).update(
        revoked_at=feed.revoked_at
    )
    audit_record(
        actor=actor,
        action="token_revoked",
        organization=feed.organization,
        obj=feed,
        details={"practitioner": feed.practitioner_id},
    )
    return feed


@transaction.atomic
def calendar_feed_record_use(
    *, actor: User | None, feed: CalendarFeed, patient_ids: list[int]
) -> None:
    """A calendar app fetched the feed: stamp ``last_used_at`` and audit the read (the feed
    shows appointment times and patients' initials). One row per fetch, naming the
    patients in ``details``: a row per patient per hourly refresh would swamp the trail."""
    feed.last_used_at = timezone.now()
    CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=feed.last_used_at)
    audit_record(
        actor=actor,
        action="read",
        organization=feed.organization,
        obj=feed,
        details={
            "feed": feed.pk,
            "practitioner": feed.practitioner_id,
            "patients": sorted(set(patient_ids)),
        },
        actor_label=f"calendar feed {feed.pk}",
    )

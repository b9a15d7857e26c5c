"""Reads for the waitlist: entries the actor may see, and the signed claim links of offers.

A claim link carries ``signing.dumps(offer.pk, salt=...)``: Django's signature over the
offer id with ``SECRET_KEY``, so nothing secret is stored and a tampered link opens nothing.
Whether the offer may still be claimed is the offer's own state (status, ``expires_at``).
"""

from django.conf import settings
from django.core import signing
from django.db.models import Prefetch, QuerySet
from django.urls import reverse

from caresync.core import policy
from caresync.core.policy import Actor
from caresync.scheduling.models import WaitlistEntry, WaitlistOffer

OFFER_SALT = "caresync.scheduling.waitlist-offer"
SEES_WHOLE_WAITLIST = frozenset(
    {
        policy.PLATFORM_ADMIN,
        policy.ORG_ADMIN,
        policy.PRACTITIONER,
        policy.STAFF,
        policy.INTEGRATION,
    }
)


def waitlist_entry_list(*, actor: Actor) -> QuerySet[WaitlistEntry]:
    """Entries the actor may see, in waitlist order (first joined first): a patient their
    own; clinic members their organization's. Offers come prefetched, newest first. (The
    caller audits the patients it shows.)"""
    if actor.organization is None:
        return WaitlistEntry.objects.none()
    entries = (
        WaitlistEntry.objects.filter(organization=actor.organization)
        .select_related("patient", "service", "practitioner__user", "appointment")
        .prefetch_related(
            Prefetch(
                "offers",
                queryset=WaitlistOffer.objects.select_related("practitioner__user").order_by(
                    "-created_at", "-pk"
                ),
            )
        )
        .order_by("created_at", "pk")
    )
    if actor.roles & SEES_WHOLE_WAITLIST:
        return entries
    if policy.PATIENT in actor.roles:
        return entries.filter(patient__user=actor.user)
    return entries.none()


def waitlist_offer_token(offer: WaitlistOffer) -> str:
    """The secret part of an offer's claim link."""
    return signing.dumps(offer.pk, salt=OFFER_SALT)


def waitlist_offer_url(offer: WaitlistOffer, request=None) -> str:
    """The absolute claim link of an offer, for emails, SMS and in-app messages: built from
    ``request`` when there is one, else from ``SITE_URL``."""
    path = reverse("waitlist-offer", args=[waitlist_offer_token(offer)])
    if request is not None:
        return request.build_absolute_uri(path)
    return settings.SITE_URL.rstrip("/") + path


def waitlist_offer_id_from_token(token: str) -> int | None:
    """The offer id a claim link names; None when the token is not one of ours."""
    try:
        offer_id = signing.loads(token, salt=OFFER_SALT)
    except signing.BadSignature:
        return None
    return offer_id if isinstance(offer_id, int) else None


def waitlist_offer_by_token(*, token: str) -> WaitlistOffer | None:
    """The offer a claim link opens (any state), with what its page shows; None when the
    token is tampered with or the offer is gone."""
    offer_id = waitlist_offer_id_from_token(token)
    if offer_id is None:
        return None
    return (
        WaitlistOffer.objects.select_related(
            "entry__organization",
            "entry__patient",
            "entry__service",
            "practitioner__user",
            "appointment",
        )
        .filter(pk=offer_id)
        .first()
    )

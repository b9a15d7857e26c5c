"""Two-factor sign-in (TOTP with recovery codes, django-otp): who needs it, enrolment, checks."""

import segno
from django.db import transaction
from django_otp import devices_for_user, match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from caresync.accounts.models import Membership, User
from caresync.core.audit import audit_record
from caresync.core.errors import ApplicationError

RECOVERY_CODE_COUNT = 10
STAFF_ROLES = (Membership.Role.ORG_ADMIN, Membership.Role.PRACTITIONER, Membership.Role.STAFF)


def two_factor_required(user: User) -> bool:
    """Whether an organization the user works for (not as a patient) demands two-factor."""
    return Membership.objects.filter(
        user=user,
        is_active=True,
        role__in=STAFF_ROLES,
        organization__is_active=True,
        organization__require_two_factor=True,
    ).exists()


def two_factor_enabled(user: User) -> bool:
    return user_has_device(user, confirmed=True)


def two_factor_match(user: User, code: str):
    """The confirmed device (authenticator or recovery code) that accepts ``code``, or None."""
    code = "".join((code or "").split())
    return match_token(user, code) if code else None


def totp_qr_data_uri(device: TOTPDevice) -> str:
    """The enrolment QR code as a data: URI (allowed by the Content-Security-Policy)."""
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)


@transaction.atomic
def totp_enrolment_start(*, actor: User) -> TOTPDevice:
    """The user's pending (unconfirmed) authenticator, created on first use."""
    device = TOTPDevice.objects.filter(user=actor, confirmed=False).first()
    return device or TOTPDevice.objects.create(
        user=actor, name="Authenticator app", confirmed=False
    )


@transaction.atomic
def totp_enrolment_confirm(*, actor: User, code: str) -> list[str]:
    """Confirm the pending authenticator with a code from it; return new recovery codes."""
    device = TOTPDevice.objects.filter(user=actor, confirmed=False).first()
    if device is None or not device.verify_token("".join((code or "").split())):
        raise ApplicationError(
            "That code did not match. Check your device's clock and try the newest code.",
            code="invalid_code",
            fields={"code": [{"code": "invalid_code", "message": "The code did not match."}]},
        )
    TOTPDevice.objects.filter(user=actor, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = recovery_codes_regenerate(actor=actor)
    audit_record(actor=actor, action="two_factor", obj=actor, details={"change": "enabled"})
    return codes


@transaction.atomic
def recovery_codes_regenerate(*, actor: User) -> list[str]:
    """Replace the user's recovery codes (each works once)."""
    device, _ = StaticDevice.objects.get_or_create(
        user=actor, name="Recovery codes", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    audit_record(
        actor=actor,
        action="two_factor",
        obj=actor,
        details={"change": "recovery_codes_regenerated"},
    )
    return codes


@transaction.atomic
def two_factor_disable(*, actor: User) -> None:
    """Remove every second factor, unless an organization of the user requires one."""
    if two_factor_required(actor):
        raise ApplicationError(
            "Your organization requires two-factor sign-in.",
            code="two_factor_required",
            status_code=409,
        )
    for device in devices_for_user(actor, confirmed=None):
        device.delete()
    audit_record(actor=actor, action="two_factor", obj=actor, details={"change": "disabled"})

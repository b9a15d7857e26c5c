"""Writes for users, organizations and memberships."""

from decimal import Decimal

from django.db import transaction

from caresync.accounts.models import Membership, Organization, User
from caresync.core.errors import ApplicationError


@transaction.atomic
def organization_create(
    *,
    actor: User | None,
    name: str,
    slug: str,
    time_zone: str,
    country: str,
    subdivision: str = "",
    currency: str = "USD",
    email: str = "",
    phone: str = "",
    address: str = "",
    default_appointment_fee: Decimal = Decimal("0.00"),
) -> Organization:
    """Create an organization (platform admins only; ``actor=None`` is the system)."""
    if actor is not None and not actor.is_platform_admin:
        raise ApplicationError(
            "Only platform admins create organizations.", code="permission_denied", status_code=403
        )
    if Organization.objects.filter(slug=slug).exists():
        raise ApplicationError(
            "An organization with this slug exists.",
            code="slug_taken",
            status_code=409,
            fields={"slug": [{"code": "unique", "message": "Already taken."}]},
        )
    organization = Organization(
        name=name,
        slug=slug,
        time_zone=time_zone,
        country=country.upper(),
        subdivision=subdivision,
        currency=currency.upper(),
        email=email,
        phone=phone,
        address=address,
        default_appointment_fee=default_appointment_fee,
    )
    organization.full_clean()
    organization.save()
    return organization


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    time_zone: str = "UTC",
    is_platform_admin: bool = False,
) -> User:
    """Create a user; ``password=None`` leaves it unusable until set through an invitation."""
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email=email).exists():
        raise ApplicationError(
            "A user with this email exists.", code="email_taken", status_code=409
        )
    return User.objects.create_user(
        email=email,
        password=password,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        time_zone=time_zone,
        is_platform_admin=is_platform_admin,
        is_staff=is_platform_admin,
        is_superuser=is_platform_admin,
    )


@transaction.atomic
def membership_create(
    *, user: User, organization: Organization, role: str, practitioner_kind: str = ""
) -> Membership:
    """Give ``user`` a role in ``organization``."""
    if role not in Membership.Role.values:
        raise ApplicationError(f"Unknown role {role!r}.", code="invalid_role")
    if (role == Membership.Role.PRACTITIONER) != bool(practitioner_kind):
        raise ApplicationError(
            "A practitioner kind is required for practitioners only.",
            code="invalid_practitioner_kind",
        )
    membership, _ = Membership.objects.get_or_create(
        user=user,
        organization=organization,
        role=role,
        defaults={"practitioner_kind": practitioner_kind},
    )
    return membership


@transaction.atomic
def user_profile_update(*, actor: User, user: User, **changes) -> User:
    """Update a user's own profile fields (name, phone, locale, time zone)."""
    if actor.pk != user.pk:
        raise ApplicationError(
            "You may only edit your own profile.", code="permission_denied", status_code=403
        )
    allowed = {"first_name", "last_name", "phone", "locale", "time_zone"}
    unknown = set(changes) - allowed
    if unknown:
        raise ApplicationError(
            "Unknown profile fields.",
            code="validation_error",
            fields={
                name: [{"code": "unknown_field", "message": "Unknown field."}]
                for name in sorted(unknown)
            },
        )
    for name, value in changes.items():
        setattr(user, name, value)
    user.full_clean(exclude=["password"])
    user.save(update_fields=[*changes.keys()])
    return user

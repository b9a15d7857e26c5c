"""Writes for users, organizations, memberships and account lifecycle.

Role checks happen at the interfaces through ``caresync.core.policy``; these services
enforce business rules, audit in the same transaction and send mail after commit.
"""

from decimal import Decimal

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken

from caresync.accounts.emails import account_email_send
from caresync.accounts.models import (
    Application,
    Membership,
    Organization,
    User,
    new_webhook_secret,
)
from caresync.core.audit import audit_record
from caresync.core.errors import ApplicationError


def _field_error(name: str, code: str, message: str) -> dict:
    return {name: [{"code": code, "message": message}]}


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
    """Create an organization (``actor=None`` is the system, e.g. demo data)."""
    if Organization.objects.filter(slug=slug).exists():
        raise ApplicationError(
            "An organization with this slug exists.",
            code="slug_taken",
            status_code=409,
            fields=_field_error("slug", "unique", "Already taken."),
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
    audit_record(actor=actor, action="create", organization=organization, obj=organization)
    return organization


@transaction.atomic
def organization_update(*, actor: User, organization: Organization, **changes) -> Organization:
    """Change an organization's profile and settings."""
    for name, value in changes.items():
        setattr(organization, name, value)
    organization.full_clean()
    organization.save(update_fields=list(changes))
    audit_record(
        actor=actor,
        action="update",
        organization=organization,
        obj=organization,
        details={"fields": sorted(changes)},
    )
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
    password_hash: str | None = None,
) -> User:
    """Create a user; ``password=None`` leaves it unusable until set through an emailed link.
    ``password_hash`` (an already hashed password) serves bulk imports and demo data."""
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email=email).exists():
        raise ApplicationError(
            "A user with this email exists.", code="email_taken", status_code=409
        )
    user = User(
        email=email,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        time_zone=time_zone,
        is_platform_admin=is_platform_admin,
        is_staff=is_platform_admin,
        is_superuser=is_platform_admin,
    )
    if password_hash is not None:
        user.password = password_hash
    else:
        user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def membership_create(
    *, user: User, organization: Organization, role: str, practitioner_kind: str = ""
) -> Membership:
    """Give ``user`` a role in ``organization`` (reactivating a deactivated one)."""
    if role not in Membership.Role.values:
        raise ApplicationError(
            f"Unknown role {role!r}.",
            code="invalid_role",
            fields=_field_error("role", "invalid_choice", "Unknown role."),
        )
    if (role == Membership.Role.PRACTITIONER) != bool(practitioner_kind):
        raise ApplicationError(
            "A practitioner kind is required for practitioners, and only for them.",
            code="invalid_practitioner_kind",
            fields=_field_error("practitioner_kind", "invalid", "Required for practitioners."),
        )
    membership, created = Membership.objects.get_or_create(
        user=user,
        organization=organization,
        role=role,
        defaults={"practitioner_kind": practitioner_kind},
    )
    if not created and not membership.is_active:
        membership.is_active = True
        membership.practitioner_kind = practitioner_kind
        membership.save(update_fields=["is_active", "practitioner_kind"])
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
    return membership


@transaction.atomic
def member_invite(
    *,
    actor: User | None,
    organization: Organization,
    email: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    practitioner_kind: str = "",
) -> Membership:
    """Add a person to an organization and email them a single-use set-password link."""
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = user_create(
            email=email,
            password=None,
            first_name=first_name,
            last_name=last_name,
            phone=phone,
            time_zone=organization.time_zone,
        )
    elif Membership.objects.filter(
        user=user, organization=organization, role=role, is_active=True
    ).exists():
        raise ApplicationError(
            "This person already has that role here.", code="already_member", status_code=409
        )
    membership = membership_create(
        user=user, organization=organization, role=role, practitioner_kind=practitioner_kind
    )
    audit_record(
        actor=actor,
        action="invite",
        organization=organization,
        obj=membership,
        details={"email": email, "role": role, "practitioner_kind": practitioner_kind},
    )
    account_email_send(
        user=user,
        organization=organization,
        purpose="invitation" if not user.has_usable_password() else "added",
    )
    return membership


@transaction.atomic
def organization_onboard(
    *,
    actor: User,
    admin_email: str,
    admin_first_name: str = "",
    admin_last_name: str = "",
    **organization_fields,
) -> Organization:
    """Create an organization with its first admin, who is invited by email."""
    organization = organization_create(actor=actor, **organization_fields)
    member_invite(
        actor=actor,
        organization=organization,
        email=admin_email,
        role=Membership.Role.ORG_ADMIN,
        first_name=admin_first_name,
        last_name=admin_last_name,
    )
    return organization


@transaction.atomic
def patient_register(
    *, organization: Organization, email: str, first_name: str, last_name: str, phone: str = ""
) -> None:
    """Self-registration from an organization's public sign-up page.

    Answers the same way whether or not the email is known (no account enumeration): a new
    person gets a welcome email with a set-password link; a known one a notice to sign in.
    """
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email=email).first()
    if user is not None:
        if not Membership.objects.filter(
            user=user, organization=organization, role=Membership.Role.PATIENT
        ).exists():
            membership_create(user=user, organization=organization, role=Membership.Role.PATIENT)
        account_email_send(user=user, organization=organization, purpose="already_registered")
        return
    user = user_create(
        email=email,
        password=None,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        time_zone=organization.time_zone,
    )
    membership = membership_create(
        user=user, organization=organization, role=Membership.Role.PATIENT
    )
    audit_record(
        actor=None,
        action="create",
        organization=organization,
        obj=membership,
        actor_label=email,
        details={"self_registration": True},
    )
    account_email_send(user=user, organization=organization, purpose="welcome")


@transaction.atomic
def member_deactivate(*, actor: User, membership: Membership) -> Membership:
    """End a membership; the person's history stays. With no membership left, the account
    is disabled and its API tokens revoked."""
    if membership.user_id == actor.pk and membership.role == Membership.Role.ORG_ADMIN:
        raise ApplicationError(
            "You cannot remove your own admin role.", code="cannot_deactivate_self", status_code=409
        )
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    user = membership.user
    if not user.is_platform_admin and not user.memberships.filter(is_active=True).exists():
        user.is_active = False
        user.save(update_fields=["is_active"])
        RefreshToken.objects.filter(user=user, revoked__isnull=True).update(revoked=timezone.now())
        AccessToken.objects.filter(user=user).delete()
    audit_record(
        actor=actor,
        action="update",
        organization=membership.organization,
        obj=membership,
        details={"deactivated": True},
    )
    return membership


def password_reset_request(*, email: str) -> None:
    """Email a set-password link if the address belongs to an active user (silently not)."""
    user = User.objects.filter(
        email=User.objects.normalize_email(email).lower(), is_active=True
    ).first()
    if user is None:
        return
    with transaction.atomic():
        audit_record(actor=None, action="password_reset", obj=user, actor_label=user.email)
        account_email_send(user=user, organization=None, purpose="password_reset")


def password_set_with_token(*, user: User | None, token: str, password: str) -> User:
    """Set a password from an emailed link. The link works once and expires
    (``PASSWORD_RESET_TIMEOUT``): it is bound to the current password hash."""
    if user is None or not default_token_generator.check_token(user, token):
        audit_record(
            actor=None,
            action="password_set",
            obj=user,
            actor_label=getattr(user, "email", ""),
            details={"outcome": "bad_link"},
        )
        raise ApplicationError(
            "This link is invalid, expired or already used.", code="invalid_token", status_code=400
        )
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ApplicationError(
            "Choose a stronger password.",
            code="validation_error",
            fields={"password": [{"code": "password_invalid", "message": m} for m in exc.messages]},
        ) from exc
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(actor=user, action="password_set", obj=user)
    return user


@transaction.atomic
def user_profile_update(*, actor: User, user: User, **changes) -> User:
    """Update a user's own profile fields (name, phone, locale, time zone)."""
    if actor.pk != user.pk:
        raise ApplicationError(
            "You may only edit your own profile.", code="permission_denied", status_code=403
        )
    for name, value in changes.items():
        setattr(user, name, value)
    user.full_clean(exclude=["password"])
    user.save(update_fields=[*changes.keys()])
    return user


@transaction.atomic
def oauth_application_register(
    *,
    name: str,
    grant_type: str,
    client_type: str = Application.CLIENT_CONFIDENTIAL,
    organization: Organization | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    redirect_uris: str = "",
) -> Application:
    """Register an OAuth2 client (the secret is stored hashed)."""
    if grant_type == Application.GRANT_CLIENT_CREDENTIALS and organization is None:
        raise ApplicationError(
            "Client-credentials integrations need an organization.", code="organization_required"
        )
    application = Application(
        name=name,
        authorization_grant_type=grant_type,
        client_type=client_type,
        organization=organization,
        redirect_uris=redirect_uris,
    )
    if client_id:
        application.client_id = client_id
    if client_secret:
        application.client_secret = client_secret
    application.full_clean()
    application.save()
    return application


@transaction.atomic
def organization_webhook_secret_rotate(*, actor: User, organization: Organization) -> str:
    """Issue a new intake-webhook secret; the old one stops working at once."""
    organization.intake_webhook_secret = new_webhook_secret()
    organization.save(update_fields=["intake_webhook_secret"])
    audit_record(
        actor=actor,
        action="update",
        organization=organization,
        obj=organization,
        details={"rotated": "intake_webhook_secret"},
    )
    return organization.intake_webhook_secret

import secrets
import zoneinfo
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from oauth2_provider.models import AbstractApplication


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone.", code="invalid_time_zone")


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True, is_platform_admin=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address."""

    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    locale = models.CharField(max_length=16, default="en")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    is_platform_admin = models.BooleanField(
        default=False, help_text="Global role: runs every organization on this installation."
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May sign in to the Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["last_name", "first_name", "email"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email

    @property
    def initials(self) -> str:
        letters = (self.first_name[:1] + self.last_name[:1]) or self.email[:1]
        return letters.upper()


class Organization(models.Model):
    """A hospital or clinic: the tenant every clinical and business row belongs to."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. AU")
    subdivision = models.CharField(max_length=10, blank=True, help_text="e.g. NSW")
    currency = models.CharField(max_length=3, default="USD", help_text="ISO 4217, e.g. AUD")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    address = models.TextField(blank=True)
    website = models.URLField(blank=True)
    require_two_factor = models.BooleanField(
        default=False, help_text="Staff, practitioners and admins must use two-factor sign-in."
    )
    default_appointment_fee = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    mrn_prefix = models.CharField(
        "MRN prefix",
        max_length=6,
        blank=True,
        help_text="Letters before every medical record number, e.g. HH → HH-000123",
    )
    mrn_sequence = models.PositiveIntegerField(default=0, editable=False)
    intake_webhook_secret = models.CharField(
        max_length=64, default=new_webhook_secret, editable=False
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in one organization. A user may hold several."""

    class Role(models.TextChoices):
        ORG_ADMIN = "org_admin", "Organization admin"
        PRACTITIONER = "practitioner", "Practitioner"
        STAFF = "staff", "Staff"
        PATIENT = "patient", "Patient"

    class PractitionerKind(models.TextChoices):
        DOCTOR = "doctor", "Doctor"
        NURSE = "nurse", "Nurse"
        RADIOLOGIST = "radiologist", "Radiologist"
        THERAPIST = "therapist", "Therapist"
        OTHER = "other", "Other"

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    practitioner_kind = models.CharField(
        max_length=20, choices=PractitionerKind.choices, blank=True
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization__name", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization", "role"], name="membership_unique_role_per_org"
            ),
            models.CheckConstraint(
                condition=(Q(role="practitioner") & ~Q(practitioner_kind=""))
                | (~Q(role="practitioner") & Q(practitioner_kind="")),
                name="membership_practitioner_kind_iff_practitioner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.organization}"

    @property
    def role_label(self) -> str:
        if self.role == self.Role.PRACTITIONER:
            return self.get_practitioner_kind_display()
        return self.get_role_display()


class Application(AbstractApplication):
    """An OAuth2 client. Integrations (client credentials) act within one organization."""

    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="oauth_applications",
        help_text="Required for client-credentials integrations: the tenant they act in.",
    )

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"

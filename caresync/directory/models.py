"""Patients, practitioners, care teams, services, locations and resources of an organization."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from caresync.accounts.models import Membership, Organization, validate_time_zone


class Location(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="locations"
    )
    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    phone = models.CharField(max_length=32, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="location_unique_name_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Modality(models.TextChoices):
    XRAY = "XR", "X-ray"
    ULTRASOUND = "US", "Ultrasound"
    CT = "CT", "CT"
    MRI = "MR", "MRI"
    MAMMOGRAPHY = "MG", "Mammography"
    FLUOROSCOPY = "RF", "Fluoroscopy"


class Resource(models.Model):
    """A room, scanner or piece of equipment; one booking at a time (capacity 1)."""

    class Kind(models.TextChoices):
        ROOM = "room", "Room"
        SCANNER = "scanner", "Scanner"
        EQUIPMENT = "equipment", "Equipment"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="resources"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="resources")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    modality = models.CharField(max_length=2, choices=Modality.choices, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["location__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="resource_unique_name_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Practitioner(models.Model):
    """A clinician's professional profile in one organization."""

    Kind = Membership.PractitionerKind

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="practitioners"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="practitioner_profiles"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=20, blank=True, help_text="e.g. Dr, RN")
    specialization = models.CharField(max_length=120, blank=True)
    license_number = models.CharField(max_length=64, blank=True)
    years_of_experience = models.PositiveSmallIntegerField(default=0)
    consultation_fee = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    bio = models.TextField(blank=True)
    photo = models.ImageField(upload_to="practitioners/", blank=True)
    languages = models.JSONField(default=list, blank=True)
    accepting_new_patients = models.BooleanField(default=True)
    locations = models.ManyToManyField(Location, blank=True, related_name="practitioners")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__last_name", "user__first_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="practitioner_one_profile_per_org"
            )
        ]

    def __str__(self) -> str:
        name = self.user.get_full_name() or self.user.email
        return f"{self.title} {name}".strip()


class Service(models.Model):
    """An appointment type: what can be booked, how long it takes, what it needs and costs."""

    class Category(models.TextChoices):
        IN_PERSON = "in_person", "In-person consultation"
        VIDEO = "video", "Video consultation"
        PHONE = "phone", "Phone call"
        RADIOLOGY = "radiology", "Radiology scan"
        FOLLOW_UP = "follow_up", "Follow-up"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="services"
    )
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=Category.choices)
    description = models.TextField(blank=True)
    modality = models.CharField(max_length=2, choices=Modality.choices, blank=True)
    preparation_instructions = models.TextField(blank=True)
    duration_minutes = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    buffer_before_minutes = models.PositiveSmallIntegerField(default=0)
    buffer_after_minutes = models.PositiveSmallIntegerField(default=0)
    price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    tax_rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Percent, e.g. 10.00 for 10% GST",
    )
    practitioners = models.ManyToManyField(Practitioner, blank=True, related_name="services")
    requires_approval = models.BooleanField(default=False)
    requires_prepayment = models.BooleanField(default=False)
    min_notice_minutes = models.PositiveIntegerField(default=60)
    booking_horizon_days = models.PositiveIntegerField(default=90)
    cancellation_window_hours = models.PositiveIntegerField(default=24)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="service_unique_name_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ServiceResourceNeed(models.Model):
    """A kind of resource a service needs for its whole duration (e.g. an MRI scanner)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="resource_needs")
    kind = models.CharField(max_length=20, choices=Resource.Kind.choices)
    modality = models.CharField(max_length=2, choices=Modality.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "kind", "modality"], name="service_need_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.modality}".strip()


class Patient(models.Model):
    """A person receiving care in one organization (with or without a portal login)."""

    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        INTERSEX = "intersex", "Intersex"
        UNKNOWN = "unknown", "Not stated"

    class BloodType(models.TextChoices):
        A_POS = "A+", "A+"
        A_NEG = "A-", "A−"
        B_POS = "B+", "B+"
        B_NEG = "B-", "B−"
        AB_POS = "AB+", "AB+"
        AB_NEG = "AB-", "AB−"
        O_POS = "O+", "O+"
        O_NEG = "O-", "O−"
        UNKNOWN = "", "Unknown"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="patients"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="patient_records",
    )
    mrn = models.CharField("MRN", max_length=20)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    gender_identity = models.CharField(max_length=60, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)
    emergency_contact_name = models.CharField(max_length=200, blank=True)
    emergency_contact_phone = models.CharField(max_length=32, blank=True)
    emergency_contact_relationship = models.CharField(max_length=60, blank=True)
    national_id = models.CharField(max_length=40, blank=True)
    medicare_number = models.CharField(max_length=20, blank=True)
    medicare_irn = models.CharField("Medicare IRN", max_length=2, blank=True)
    dva_number = models.CharField("DVA number", max_length=20, blank=True)
    insurance_scheme = models.CharField(
        "insurance / medical aid scheme", max_length=120, blank=True
    )
    insurance_member_number = models.CharField(max_length=60, blank=True)
    insurance_plan = models.CharField(max_length=120, blank=True)
    insurance_main_member = models.CharField(max_length=200, blank=True)
    blood_type = models.CharField(max_length=3, choices=BloodType.choices, blank=True)
    allergies = models.TextField(blank=True)
    medical_history = models.TextField(blank=True)
    preferred_channels = models.JSONField(
        default=list, blank=True, help_text='Any of "email", "sms", "phone"'
    )
    preferred_language = models.CharField(max_length=16, default="en")
    photo = models.ImageField(upload_to="patients/", blank=True)
    consent_treatment = models.BooleanField(default=False)
    consent_data_sharing = models.BooleanField(default=False)
    consent_sms = models.BooleanField(default=False)
    consent_email = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Normalized copies for search and duplicate detection (kept by the services).
    search_name = models.CharField(max_length=220, editable=False, default="")
    search_phone = models.CharField(max_length=32, editable=False, default="", db_index=True)

    class Meta:
        ordering = ["family_name", "given_name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "mrn"], name="patient_unique_mrn"),
            models.UniqueConstraint(
                fields=["organization", "user"],
                condition=Q(user__isnull=False),
                name="patient_one_record_per_user_per_org",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "family_name", "given_name"]),
            models.Index(fields=["organization", "date_of_birth"]),
            models.Index(fields=["organization", "email"]),
            models.Index(fields=["organization", "search_name"]),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.mrn})"

    @property
    def display_name(self) -> str:
        given = self.preferred_name or self.given_name
        return f"{given} {self.family_name}".strip()


# The patient fields people edit (forms, API, imports); services also accept photo and user.
PATIENT_EDITABLE_FIELDS = (
    "given_name",
    "family_name",
    "preferred_name",
    "date_of_birth",
    "sex",
    "gender_identity",
    "phone",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "country",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relationship",
    "national_id",
    "medicare_number",
    "medicare_irn",
    "dva_number",
    "insurance_scheme",
    "insurance_member_number",
    "insurance_plan",
    "insurance_main_member",
    "blood_type",
    "allergies",
    "medical_history",
    "preferred_channels",
    "preferred_language",
    "consent_treatment",
    "consent_data_sharing",
    "consent_sms",
    "consent_email",
)


class CareTeamMember(models.Model):
    """A practitioner's role in a patient's care (seed 000's PatientNurseAssignment)."""

    class Role(models.TextChoices):
        PRIMARY_NURSE = "primary_nurse", "Primary nurse"
        PRIMARY_DOCTOR = "primary_doctor", "Primary doctor"
        REFERRING_DOCTOR = "referring_doctor", "Referring doctor"
        OTHER = "other", "Other"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="care_team_members"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="care_team")
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, related_name="care_assignments"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    notes = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["role", "start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "role"],
                condition=Q(end_date__isnull=True)
                & Q(role__in=["primary_nurse", "primary_doctor"]),
                name="care_team_one_current_primary_per_role",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="care_team_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.practitioner} · {self.get_role_display()} · {self.patient}"


class WebhookLog(models.Model):
    """Every call to the patient intake webhook, for org admins to inspect."""

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="webhook_logs"
    )
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=32)
    error = models.TextField(blank=True)
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M} {self.outcome}"

"""Demo organizations and people. Idempotent: existing rows are left as they are."""

import functools
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password

from caresync.accounts.models import Application, Membership, Organization, User
from caresync.accounts.services import (
    membership_create,
    oauth_application_register,
    organization_create,
    user_create,
)

PLATFORM_ADMIN_EMAIL = "admin@caresync.test"
DEMO_CLIENT_ID = "caresync-demo-app"


@dataclass(frozen=True)
class DemoOrganization:
    name: str
    slug: str
    time_zone: str
    country: str
    subdivision: str
    currency: str
    phone: str
    address: str
    fee: Decimal
    staff_names: tuple[tuple[str, str, str, str], ...]  # (local part, first, last, kind/role)
    patient_names: tuple[tuple[str, str], ...]


DEMO_ORGANIZATIONS = (
    DemoOrganization(
        name="Harbour Health Clinic",
        slug="harbour-health",
        time_zone="Australia/Sydney",
        country="AU",
        subdivision="NSW",
        currency="AUD",
        phone="+61 2 9000 1000",
        address="120 George Street, Sydney NSW 2000, Australia",
        fee=Decimal("95.00"),
        staff_names=(
            ("orgadmin", "Olivia", "Hart", "org_admin"),
            ("doctor1", "James", "Whitfield", "doctor"),
            ("doctor2", "Priya", "Raman", "doctor"),
            ("nurse1", "Emma", "Collins", "nurse"),
            ("nurse2", "Liam", "O'Brien", "nurse"),
            ("radiologist1", "Chen", "Wei", "radiologist"),
            ("staff1", "Sophie", "Nguyen", "staff"),
        ),
        patient_names=(
            ("Jack", "Thompson"),
            ("Charlotte", "Smith"),
            ("Noah", "Williams"),
            ("Amelia", "Brown"),
            ("William", "Jones"),
            ("Isla", "Wilson"),
            ("Oliver", "Taylor"),
            ("Mia", "Anderson"),
            ("Henry", "Martin"),
            ("Ava", "White"),
            ("Leo", "Harris"),
            ("Grace", "Clarke"),
            ("Lucas", "Walker"),
            ("Chloe", "Robinson"),
            ("Ethan", "Young"),
            ("Zoe", "King"),
            ("Mason", "Wright"),
            ("Ruby", "Scott"),
            ("Harper", "Green"),
            ("Archie", "Baker"),
        ),
    ),
    DemoOrganization(
        name="Himalaya Care Hospital",
        slug="himalaya-care",
        time_zone="Asia/Kathmandu",
        country="NP",
        subdivision="",
        currency="NPR",
        phone="+977 1 4000 200",
        address="Maharajgunj Road, Kathmandu 44600, Nepal",
        fee=Decimal("1500.00"),
        staff_names=(
            ("orgadmin", "Sita", "Shrestha", "org_admin"),
            ("doctor1", "Ramesh", "Adhikari", "doctor"),
            ("doctor2", "Anjali", "Karki", "doctor"),
            ("nurse1", "Gita", "Tamang", "nurse"),
            ("nurse2", "Bikash", "Gurung", "nurse"),
            ("radiologist1", "Suman", "Joshi", "radiologist"),
            ("staff1", "Pooja", "Maharjan", "staff"),
        ),
        patient_names=(
            ("Aarav", "Sharma"),
            ("Aasha", "Thapa"),
            ("Bibek", "Rai"),
            ("Deepa", "Magar"),
            ("Hari", "Poudel"),
            ("Kabita", "Bhandari"),
            ("Kiran", "Lama"),
            ("Laxmi", "Basnet"),
            ("Manish", "Khadka"),
            ("Nisha", "Pandey"),
            ("Prakash", "Bhattarai"),
            ("Rita", "Acharya"),
            ("Sagar", "Dahal"),
            ("Sabina", "Koirala"),
            ("Suraj", "Giri"),
            ("Tara", "Neupane"),
            ("Ujjwal", "Regmi"),
            ("Yamuna", "Oli"),
            ("Binod", "Sapkota"),
            ("Sunita", "Chaudhary"),
        ),
    ),
)


@functools.cache
def _demo_password_hash(password: str) -> str:
    # Hashed once: Argon2 is deliberately slow, and every demo account shares the password.
    return make_password(password)


def _user(email: str, first: str, last: str, time_zone: str, **extra) -> User:
    existing = User.objects.filter(email=email).first()
    if existing is not None:
        return existing
    return user_create(
        email=email,
        password=None,
        password_hash=_demo_password_hash(settings.DEMO_PASSWORD),
        first_name=first,
        last_name=last,
        time_zone=time_zone,
        **extra,
    )


def seed(log) -> list[tuple[str, str]]:
    """Create demo organizations and their people; return (login, description) pairs."""
    logins = []
    _user(PLATFORM_ADMIN_EMAIL, "Ada", "Platform", "UTC", is_platform_admin=True)
    logins.append((PLATFORM_ADMIN_EMAIL, "platform admin (all organizations)"))

    for spec in DEMO_ORGANIZATIONS:
        organization = Organization.objects.filter(slug=spec.slug).first()
        if organization is None:
            organization = organization_create(
                actor=None,
                name=spec.name,
                slug=spec.slug,
                time_zone=spec.time_zone,
                country=spec.country,
                subdivision=spec.subdivision,
                currency=spec.currency,
                email=f"hello@{spec.slug}.test",
                phone=spec.phone,
                address=spec.address,
                default_appointment_fee=spec.fee,
            )
            log(f"created organization {organization.name}")
        for local, first, last, kind in spec.staff_names:
            email = f"{local}@{spec.slug}.test"
            user = _user(email, first, last, spec.time_zone)
            if kind in Membership.Role.values:
                membership_create(user=user, organization=organization, role=kind)
            else:
                membership_create(
                    user=user,
                    organization=organization,
                    role=Membership.Role.PRACTITIONER,
                    practitioner_kind=kind,
                )
            if local in {"orgadmin", "doctor1", "nurse1", "radiologist1", "staff1"}:
                logins.append((email, f"{kind.replace('_', ' ')} · {spec.name}"))
        for number, (first, last) in enumerate(spec.patient_names, start=1):
            email = f"patient{number}@{spec.slug}.test"
            user = _user(email, first, last, spec.time_zone)
            membership_create(user=user, organization=organization, role=Membership.Role.PATIENT)
        logins.append((f"patient1@{spec.slug}.test", f"patient · {spec.name}"))
    logins.extend(_demo_oauth_client(log))
    return logins


def _demo_oauth_client(log) -> list[tuple[str, str]]:
    if not Application.objects.filter(client_id=DEMO_CLIENT_ID).exists():
        oauth_application_register(
            name="CareSync demo app",
            grant_type=Application.GRANT_PASSWORD,
            client_id=DEMO_CLIENT_ID,
            client_secret=settings.DEMO_PASSWORD,
        )
        log("registered the demo OAuth client")
    return [(f"OAuth client {DEMO_CLIENT_ID}", "password grant; its secret is the demo password")]

"""Demo directory: locations, rooms and scanners, services, practitioner profiles, patient
records (with and without portal accounts) and care teams. Idempotent."""

import random
from datetime import date, timedelta
from decimal import Decimal

from caresync.accounts.models import Membership, Organization
from caresync.directory.models import CareTeamMember, Location, Patient, Practitioner, Service
from caresync.directory.services import (
    care_team_assign,
    location_save,
    patient_create,
    practitioner_profile_create,
    resource_save,
    service_save,
)

SPECIALIZATIONS = {
    "doctor": ["General practice", "Internal medicine"],
    "nurse": ["Practice nursing", "Chronic care"],
    "radiologist": ["Diagnostic radiology"],
}
TITLES = {"doctor": "Dr", "nurse": "RN", "radiologist": "Dr"}

# name, category, minutes, price (in the organization's currency, scaled), practitioner kinds,
# modality, resource needs, preparation
SERVICES = [
    ("GP consultation (15 min)", "in_person", 15, Decimal("60"), ["doctor"], "", [], ""),
    ("GP consultation (30 min)", "in_person", 30, Decimal("110"), ["doctor"], "", [], ""),
    ("Nurse phone call", "phone", 15, Decimal("0"), ["nurse"], "", [], ""),
    ("Video consultation", "video", 20, Decimal("80"), ["doctor"], "", [], ""),
    (
        "X-ray",
        "radiology",
        15,
        Decimal("90"),
        ["radiologist"],
        "XR",
        [{"kind": "scanner", "modality": "XR"}],
        "Remove jewellery and metal objects.",
    ),
    (
        "Ultrasound",
        "radiology",
        30,
        Decimal("180"),
        ["radiologist"],
        "US",
        [{"kind": "scanner", "modality": "US"}],
        "For an abdominal scan, do not eat for 6 hours before. Drink 1 litre of water an hour "
        "before a pelvic scan.",
    ),
    (
        "MRI scan",
        "radiology",
        45,
        Decimal("450"),
        ["radiologist"],
        "MR",
        [{"kind": "scanner", "modality": "MR"}],
        "Tell us about any pacemaker, implant or metal fragments. Remove all metal. Arrive 15 "
        "minutes early to complete the safety questionnaire.",
    ),
]
CURRENCY_SCALE = {"AUD": Decimal("1"), "NPR": Decimal("25")}


def _practitioners(organization: Organization, location: Location) -> list[Practitioner]:
    profiles = []
    memberships = Membership.objects.filter(
        organization=organization, role=Membership.Role.PRACTITIONER
    ).select_related("user")
    for index, membership in enumerate(memberships):
        profile = Practitioner.objects.filter(
            organization=organization, user=membership.user
        ).first()
        if profile is None:
            kind = membership.practitioner_kind
            profile = practitioner_profile_create(
                actor=None,
                membership=membership,
                locations=[location],
                title=TITLES.get(kind, ""),
                specialization=SPECIALIZATIONS.get(kind, ["General"])[
                    index % 2 if kind in ("doctor", "nurse") else 0
                ],
                license_number=f"{organization.country}-{kind[:3].upper()}-{10000 + index}",
                years_of_experience=4 + index * 3,
                consultation_fee=organization.default_appointment_fee,
                languages=["en", "ne"] if organization.country == "NP" else ["en"],
                bio=f"{TITLES.get(kind, '')} {membership.user.get_full_name()} has cared for "
                f"patients at {organization.name} since {2026 - 4 - index}.".strip(),
            )
        profiles.append(profile)
    return profiles


def _patients(organization: Organization, nurses, doctors, rng: random.Random) -> int:
    created = 0
    members = Membership.objects.filter(
        organization=organization, role=Membership.Role.PATIENT
    ).select_related("user")
    people = [(m.user.first_name, m.user.last_name, m.user.email, m.user) for m in members]
    # Phone-only patients (no portal account), as the voice assistant serves them.
    people += [
        ("Margaret", "Ellis", "", None),
        ("Robert", "Nash", "", None),
        ("Dorothy", "Pike", "", None),
        ("Ram", "Bahadur", "", None),
    ]
    for index, (given, family, email, user) in enumerate(people):
        if Patient.objects.filter(
            organization=organization, given_name=given, family_name=family
        ).exists():
            continue
        prefix = "+61 4" if organization.country == "AU" else "+977 98"
        patient = patient_create(
            actor=None,
            organization=organization,
            user=user,
            given_name=given,
            family_name=family,
            email=email,
            date_of_birth=date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 62)),
            sex=rng.choice(["female", "male"]),
            phone=f"{prefix}{rng.randrange(10_000_000, 99_999_999)}",
            city="Sydney" if organization.country == "AU" else "Kathmandu",
            country=organization.country,
            emergency_contact_name=f"{rng.choice(['Alex', 'Sam', 'Jordan'])} {family}",
            emergency_contact_phone=f"{prefix}{rng.randrange(10_000_000, 99_999_999)}",
            emergency_contact_relationship=rng.choice(["Spouse", "Parent", "Child", "Sibling"]),
            medicare_number=f"{rng.randrange(2000, 6999)} {rng.randrange(10000, 99999)} "
            f"{rng.randrange(1, 9)}"
            if organization.country == "AU"
            else "",
            insurance_scheme=rng.choice(["", "Bupa", "Medibank", "HCF"])
            if organization.country == "AU"
            else rng.choice(["", "Nepal Health Insurance"]),
            blood_type=rng.choice(["A+", "O+", "B+", "O-", "AB+", ""]),
            allergies=rng.choice(["", "", "Penicillin", "Peanuts", "Latex"]),
            preferred_channels=["email", "sms"] if email else ["phone"],
            consent_treatment=True,
            consent_sms=True,
            consent_email=bool(email),
        )
        care_team_assign(
            actor=None,
            patient=patient,
            practitioner=nurses[index % len(nurses)],
            role=CareTeamMember.Role.PRIMARY_NURSE,
        )
        care_team_assign(
            actor=None,
            patient=patient,
            practitioner=doctors[index % len(doctors)],
            role=CareTeamMember.Role.PRIMARY_DOCTOR,
        )
        created += 1
    return created


def seed(log) -> list:
    rng = random.Random(20261121)  # noqa: S311 - demo data, reproducible
    for organization in Organization.objects.filter(slug__in=["harbour-health", "himalaya-care"]):
        location = Location.objects.filter(organization=organization).first() or location_save(
            actor=None,
            organization=organization,
            name="Main clinic",
            address=organization.address,
            time_zone=organization.time_zone,
            phone=organization.phone,
        )
        rooms = [
            ("Consult room 1", "room", ""),
            ("Consult room 2", "room", ""),
            ("X-ray room", "scanner", "XR"),
            ("Ultrasound suite", "scanner", "US"),
            ("MRI scanner", "scanner", "MR"),
        ]
        for name, kind, modality in rooms:
            if not organization.resources.filter(name=name).exists():
                resource_save(
                    actor=None,
                    organization=organization,
                    location=location,
                    name=name,
                    kind=kind,
                    modality=modality,
                )
        practitioners = _practitioners(organization, location)
        by_kind = {
            k: [p for p in practitioners if p.kind == k] for k in ("doctor", "nurse", "radiologist")
        }
        scale = CURRENCY_SCALE.get(organization.currency, Decimal("1"))
        for name, category, minutes, price, kinds, modality, needs, preparation in SERVICES:
            if Service.objects.filter(organization=organization, name=name).exists():
                continue
            service_save(
                actor=None,
                organization=organization,
                name=name,
                category=category,
                duration_minutes=minutes,
                price=price * scale,
                modality=modality,
                preparation_instructions=preparation,
                tax_rate=Decimal("10.00") if organization.country == "AU" else Decimal("13.00"),
                buffer_after_minutes=10 if category == "radiology" else 0,
                requires_approval=name == "MRI scan",
                practitioners=[p for k in kinds for p in by_kind[k]],
                resource_needs=needs,
            )
        created = _patients(organization, by_kind["nurse"], by_kind["doctor"], rng)
        if created:
            log(f"{organization.name}: {created} patient records with care teams")
    return []

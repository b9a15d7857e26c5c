"""Reads for the directory, scoped to the actor's organization; PHI reads are audited."""

import re
from datetime import date, datetime

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from caresync.accounts.models import Organization
from caresync.core import policy
from caresync.core.audit import audit_record
from caresync.core.policy import Actor
from caresync.directory.models import (
    CareTeamMember,
    Location,
    Patient,
    Practitioner,
    Resource,
    Service,
    WebhookLog,
)
from caresync.directory.normalize import email_key, name_key, phone_key

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y")
_MRN = re.compile(r"^([A-Za-z]{1,6})-?(\d{1,9})$")
_PHONE = re.compile(r"^[\d\s().+-]{6,}$")


def patient_list(*, actor: Actor) -> QuerySet[Patient]:
    """Patients the actor may see: a patient their own record; everyone else in the
    organization its patients. (The caller audits the rows it shows: ``patient_reads_record``.)"""
    organization = actor.organization
    if organization is None:
        return Patient.objects.none()
    patients = Patient.objects.filter(organization=organization)
    if actor.roles & {
        policy.ORG_ADMIN,
        policy.PRACTITIONER,
        policy.STAFF,
        policy.INTEGRATION,
        policy.PLATFORM_ADMIN,
    }:
        return patients
    if policy.PATIENT in actor.roles:
        return patients.filter(user=actor.user)
    return Patient.objects.none()


def patient_reads_record(*, actor: Actor, patients, reason: str = "") -> None:
    """Audit that the actor was shown these patients (one row per patient)."""
    for patient in patients:
        audit_record(
            actor=actor.user,
            action="read",
            organization=patient.organization,
            obj=patient,
            patient_id=patient.pk,
            reason=reason,
            actor_label=actor.label,
        )


def _parse_date(text: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    return None


def patient_search(patients: QuerySet[Patient], query: str) -> QuerySet[Patient]:
    """Front-desk search: an MRN, a date of birth, a phone number, an email, or name
    fragments (every word must match). Uses the normalized columns, which are indexed
    (b-tree on SQLite, trigram on PostgreSQL)."""
    query = (query or "").strip()
    if not query:
        return patients
    if "@" in query:
        return patients.filter(email__startswith=email_key(query))
    mrn = _MRN.match(query)
    if mrn:
        prefix, number = mrn.groups()
        return patients.filter(mrn=f"{prefix.upper()}-{int(number):06d}")
    born = _parse_date(query)
    if born is not None:
        return patients.filter(date_of_birth=born)
    if _PHONE.match(query) and len(phone_key(query)) >= 6:
        return patients.filter(search_phone__contains=phone_key(query))
    for word in name_key(query).split():
        patients = patients.filter(search_name__contains=word)
    # Case-insensitive name order; as a side effect it is not index-ordered, so PostgreSQL
    # sorts the trigram matches instead of walking the name index until 25 rows match
    # (slow when the matches cluster late in the alphabet).
    return patients.order_by(Lower("family_name"), Lower("given_name"), "pk")


def patient_duplicates(*, organization: Organization, patient: Patient) -> QuerySet[Patient]:
    """Active patients with the same normalized name and birth date, and the same phone or
    email as ``patient`` (which is not saved yet)."""
    contact = Q()
    if len(patient.search_phone) >= 6:
        # The national number (last nine digits) matches with or without a country code.
        contact |= Q(search_phone__endswith=patient.search_phone[-9:])
    if patient.email:
        contact |= Q(email=patient.email)
    if not contact:
        return Patient.objects.none()
    return Patient.objects.filter(
        contact,
        organization=organization,
        is_active=True,
        date_of_birth=patient.date_of_birth,
        search_name=name_key(patient.given_name, patient.preferred_name, patient.family_name),
    ).exclude(pk=patient.pk)


def care_team_list(*, patient: Patient, current_only: bool = False) -> QuerySet[CareTeamMember]:
    members = CareTeamMember.objects.filter(patient=patient).select_related("practitioner__user")
    return members.filter(end_date__isnull=True) if current_only else members


def practitioner_list(*, actor: Actor) -> QuerySet[Practitioner]:
    if actor.organization is None:
        return Practitioner.objects.none()
    return (
        Practitioner.objects.filter(organization=actor.organization)
        .select_related("user")
        .prefetch_related("locations")
    )


def service_list(*, actor: Actor) -> QuerySet[Service]:
    if actor.organization is None:
        return Service.objects.none()
    return Service.objects.filter(organization=actor.organization).prefetch_related(
        "practitioners", "resource_needs"
    )


def location_list(*, actor: Actor) -> QuerySet[Location]:
    if actor.organization is None:
        return Location.objects.none()
    return Location.objects.filter(organization=actor.organization)


def resource_list(*, actor: Actor) -> QuerySet[Resource]:
    if actor.organization is None:
        return Resource.objects.none()
    return Resource.objects.filter(organization=actor.organization).select_related("location")


def webhook_log_list(*, actor: Actor) -> QuerySet[WebhookLog]:
    if actor.organization is None:
        return WebhookLog.objects.none()
    return WebhookLog.objects.filter(organization=actor.organization)

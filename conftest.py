"""Shared test fixtures: a two-tenant cast so every test can also check who must NOT see."""

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from caresync.accounts.models import Membership, Organization, User
from caresync.accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from caresync.celery import app as celery_app
from caresync.notifications import outbox


@pytest.fixture(autouse=True)
def _test_defaults(settings, tmp_path):
    """Tasks run inline (the Redis tier exercises a real worker); fast password hashing;
    uploaded files go to a per-test folder."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    celery_app.conf.task_always_eager = True
    cache.clear()
    outbox._relay_known_at = float("-inf")  # with the cache: no relay known to be queued
    yield
    cache.clear()


@dataclass
class Tenant:
    organization: Organization
    admin: User
    doctor: User
    nurse: User
    staff: User
    patient: User
    other_patient: User


def _tenant(slug: str, time_zone: str) -> Tenant:
    organization = OrganizationFactory(
        slug=slug, name=slug.replace("-", " ").title(), time_zone=time_zone
    )

    def member(role: str, kind: str = "") -> User:
        return MembershipFactory(organization=organization, role=role, practitioner_kind=kind).user

    return Tenant(
        organization=organization,
        admin=member(Membership.Role.ORG_ADMIN),
        doctor=member(Membership.Role.PRACTITIONER, "doctor"),
        nurse=member(Membership.Role.PRACTITIONER, "nurse"),
        staff=member(Membership.Role.STAFF),
        patient=member(Membership.Role.PATIENT),
        other_patient=member(Membership.Role.PATIENT),
    )


@pytest.fixture
def tenant_a(db) -> Tenant:
    return _tenant("alpha-clinic", "Australia/Sydney")


@pytest.fixture
def tenant_b(db) -> Tenant:
    return _tenant("bravo-hospital", "Asia/Kathmandu")


@pytest.fixture
def platform_admin(db) -> User:
    return UserFactory(is_platform_admin=True, is_staff=True, is_superuser=True)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def api_as(api_client):
    """``api_as(user)`` returns an API client signed in as ``user``."""

    def sign_in(user: User) -> APIClient:
        api_client.force_authenticate(user=user)
        return api_client

    return sign_in

"""``ScopedLookup`` over the directory's listings: the listing's scoping holds for every
actor, as it does for the queryset itself."""

import pytest

from caresync.accounts.selectors import actor_for
from caresync.core.policy import Actor
from caresync.core.querytemplates import ScopedLookup
from caresync.directory.selectors import patient_list
from caresync.directory.tests.test_pages import make_patient

pytestmark = pytest.mark.django_db

PATIENTS = ScopedLookup(patient_list)
ACTIVE_PATIENTS = ScopedLookup(patient_list, is_active=True)


def _actor(tenant, user):
    return actor_for(user=user, organization=tenant.organization)


def test_staff_find_their_organizations_patients_only(tenant_a, tenant_b):
    mine, theirs = make_patient(tenant_a), make_patient(tenant_b)
    staff = _actor(tenant_a, tenant_a.staff)

    assert PATIENTS.get(actor=staff, pk=mine.pk) == mine
    assert PATIENTS.get(actor=staff, pk=theirs.pk) is None
    assert PATIENTS.get(actor=_actor(tenant_b, tenant_b.staff), pk=theirs.pk) == theirs


def test_a_patient_finds_their_own_record_only(tenant_a):
    own = make_patient(tenant_a, user=tenant_a.patient)
    other = make_patient(tenant_a, user=tenant_a.other_patient)
    patient = _actor(tenant_a, tenant_a.patient)

    assert PATIENTS.get(actor=patient, pk=own.pk) == own
    assert PATIENTS.get(actor=patient, pk=other.pk) is None
    # Same roles, other user: the same built query, run with the other user.
    assert PATIENTS.get(actor=_actor(tenant_a, tenant_a.other_patient), pk=other.pk) == other


def test_fixed_filters_and_impossible_keys(tenant_a, django_assert_num_queries):
    inactive = make_patient(tenant_a)
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    staff = _actor(tenant_a, tenant_a.staff)

    assert PATIENTS.get(actor=staff, pk=inactive.pk) == inactive
    assert ACTIVE_PATIENTS.get(actor=staff, pk=inactive.pk) is None
    nobody = Actor(user=None, organization=None, roles=frozenset())
    with django_assert_num_queries(0):
        assert PATIENTS.get(actor=staff, pk=2**63) is None
        assert PATIENTS.get(actor=staff, pk=0) is None
        assert PATIENTS.get(actor=nobody, pk=inactive.pk) is None

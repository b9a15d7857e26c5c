import pytest

from caresync.directory.normalize import phone_key
from caresync.integrations.tests.conftest import (  # noqa: F401 - shared fixtures
    TWILIO_SID,
    TWILIO_TOKEN,
    twilio,
)
from caresync.scheduling.tests.conftest import clinic  # noqa: F401 - shared fixture


@pytest.fixture
def reachable(clinic):  # noqa: F811
    """The clinic's patient with an email, a mobile number and SMS consent, and a login."""
    patient = clinic.patient
    patient.email = "ada@example.test"
    patient.phone = "0412 345 678"
    patient.search_phone = phone_key(patient.phone)  # as the directory services keep it
    patient.consent_sms = True
    patient.user = clinic.tenant.patient
    patient.save()
    organization = clinic.tenant.organization
    organization.country = "AU"
    organization.phone = "02 9000 0000"
    organization.save()
    return clinic


@pytest.fixture(autouse=True)
def _at_now():
    """The scheduling fixtures book at NOW (20 Feb 2026); so does the clock here."""
    import time_machine

    from caresync.scheduling.tests.conftest import NOW

    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(autouse=True)
def _relay_as_recorded(request, monkeypatch):
    """These tests are about what the relay makes of events, so it relays each event as
    soon as it is written (in the test's transaction, which never commits). The real
    after-commit path is tested in test_outbox.py (marked ``after_commit``)."""
    if request.node.get_closest_marker("after_commit"):
        return
    from caresync.notifications import outbox

    monkeypatch.setattr(outbox, "_relay_after_commit", outbox.outbox_dispatch)

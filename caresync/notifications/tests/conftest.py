import pytest

from caresync.integrations.twilio.fake import FakeTwilio
from caresync.scheduling.tests.conftest import clinic  # noqa: F401 - shared fixture

TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "test-auth-token"


@pytest.fixture
def reachable(clinic):  # noqa: F811
    """The clinic's patient with an email, a mobile number and SMS consent, and a login."""
    patient = clinic.patient
    patient.email = "ada@example.test"
    patient.phone = "0412 345 678"
    patient.consent_sms = True
    patient.user = clinic.tenant.patient
    patient.save()
    organization = clinic.tenant.organization
    organization.country = "AU"
    organization.phone = "02 9000 0000"
    organization.save()
    return clinic


@pytest.fixture
def twilio(settings):
    """A local fake of Twilio's Messages API, with the Twilio transport pointed at it."""
    with FakeTwilio(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN) as fake:
        settings.SMS_BACKEND = "caresync.integrations.twilio.client.TwilioSmsTransport"
        settings.TWILIO_ACCOUNT_SID = TWILIO_SID
        settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
        settings.TWILIO_FROM_NUMBER = "+61400000000"
        settings.TWILIO_API_BASE_URL = fake.base_url
        settings.TWILIO_TIMEOUT_SECONDS = 2
        yield fake


@pytest.fixture(autouse=True)
def _at_now():
    """The scheduling fixtures book at NOW (20 Feb 2026); so does the clock here."""
    import time_machine

    from caresync.scheduling.tests.conftest import NOW

    with time_machine.travel(NOW, tick=True):
        yield

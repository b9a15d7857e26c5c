import pytest

from caresync.integrations.twilio.fake import FakeTwilio

TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "test-auth-token"


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

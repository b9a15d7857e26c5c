"""Webhook requests from Twilio carry ``X-Twilio-Signature``: an HMAC of the public URL
and the POST parameters with the account's auth token, checked with the SDK's
``RequestValidator``."""

from django.conf import settings
from twilio.request_validator import RequestValidator


def public_url(request) -> str:
    """The URL Twilio called: ``SITE_URL`` plus the path and query (behind a proxy the
    request's own host and scheme may differ from the public ones)."""
    return settings.SITE_URL.rstrip("/") + request.get_full_path()


def request_is_from_twilio(request) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    return validator.validate(public_url(request), request.POST.dict(), signature)


def signature_for(url: str, params: dict, auth_token: str | None = None) -> str:
    """The signature Twilio would send (the fake and tests sign with it)."""
    return RequestValidator(auth_token or settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)

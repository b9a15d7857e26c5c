"""POST /api/webhook/patient: patient intake from external forms (seed 001).

Authentication: ``X-Organization: <slug>`` names the organization and
``X-CareSync-Signature: t=<unix seconds>,v1=<hex>`` carries an HMAC-SHA256, keyed with the
organization's intake secret, over ``"<t>.<raw body>"``. Requests signed more than five
minutes away from now are refused (replay protection). Every call is logged (WebhookLog).
"""

import hashlib
import hmac
import json
import time

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework import serializers

from caresync.accounts.models import Organization
from caresync.core.errors import ApplicationError, error_body, field_errors
from caresync.directory.services import patient_create, webhook_log_record

SIGNATURE_HEADER = "X-CareSync-Signature"
TOLERANCE_SECONDS = 300


class IntakeInput(serializers.Serializer):
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    email = serializers.EmailField()
    date_of_birth = serializers.DateField(input_formats=["%Y-%m-%d"])
    address = serializers.CharField(required=False, allow_blank=True, max_length=200)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    emergency_contact = serializers.CharField(required=False, allow_blank=True, max_length=200)
    medicare_number = serializers.RegexField(r"^[\d ]{10,14}$", required=False, allow_blank=True)
    dva_number = serializers.CharField(required=False, allow_blank=True, max_length=20)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)


def signature_for(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-CareSync-Signature`` value a sender puts on ``body`` at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def _verify(organization: Organization | None, header: str, body: bytes) -> None:
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        timestamp = None
    if organization is None or timestamp is None or "v1" not in parts:
        raise ApplicationError(
            "Missing or malformed signature.", code="invalid_signature", status_code=401
        )
    expected = signature_for(organization.intake_webhook_secret, timestamp, body)
    if not hmac.compare_digest(expected, f"t={timestamp},v1={parts['v1']}"):
        raise ApplicationError(
            "The signature does not match.", code="invalid_signature", status_code=401
        )
    if abs(time.time() - timestamp) > TOLERANCE_SECONDS:
        raise ApplicationError(
            "The signature has expired; sign each request when sending it.",
            code="signature_expired",
            status_code=401,
        )


def _answer(
    organization, status: int, outcome: str, body: dict, *, error: str = "", patient=None
) -> JsonResponse:
    webhook_log_record(
        organization=organization, status_code=status, outcome=outcome, error=error, patient=patient
    )
    return JsonResponse(body, status=status)


@csrf_exempt
@require_POST
def patient_intake(request):
    slug = request.headers.get("X-Organization", "")
    organization = Organization.objects.filter(slug=slug, is_active=True).first()
    raw = request.body
    try:
        _verify(organization, request.headers.get(SIGNATURE_HEADER, ""), raw)
        try:
            payload = json.loads(raw)
        except ValueError as exc:
            raise ApplicationError("The body is not valid JSON.", code="parse_error") from exc
        data = IntakeInput(data=payload if isinstance(payload, dict) else {})
        if not data.is_valid():
            details = serializers.ValidationError(data.errors).get_full_details()
            raise ApplicationError(
                "Some fields are invalid.", code="validation_error", fields=field_errors(details)
            )
        fields = data.validated_data
        emergency = fields.get("emergency_contact", "")
        patient = patient_create(
            actor=None,
            organization=organization,
            given_name=fields["first_name"],
            family_name=fields["last_name"],
            email=fields["email"],
            date_of_birth=fields["date_of_birth"],
            phone=fields.get("phone", ""),
            address_line1=fields.get("address", ""),
            emergency_contact_name=emergency,
            medicare_number=fields.get("medicare_number", ""),
            dva_number=fields.get("dva_number", ""),
            medical_history=fields.get("notes", ""),
        )
    except ApplicationError as exc:
        body = error_body(code=exc.code, message=exc.message, fields=exc.fields, extra=exc.extra)
        outcome = "duplicate" if exc.code == "duplicate_patient" else exc.code
        return _answer(organization, exc.status_code, outcome, body, error=exc.message)
    return _answer(
        organization, 201, "created", {"id": patient.pk, "mrn": patient.mrn}, patient=patient
    )

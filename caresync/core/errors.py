"""One application error type and one JSON error shape for the whole API.

Every 4xx/5xx answer of the API has the body::

    {"error": {"code": "validation_error",
               "message": "Some fields are invalid.",
               "fields": {"email": [{"code": "invalid", "message": "Enter a valid email."}]},
               "request_id": "3f2a..."}}

``fields`` is present (possibly empty) on every error; ``request_id`` matches the
``X-Request-ID`` response header.
"""

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from caresync.core.middleware import current_request_id

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A business rule refused the operation. Raised by services; rendered by the handler."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid",
        status_code: int | None = None,
        fields: dict | None = None,
        extra: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.fields = fields or {}
        self.extra = extra or {}


def model_validated(instance, *, exclude=()):
    """``full_clean`` the instance, turning Django's ValidationError into an ApplicationError
    with field errors; returns the instance."""
    try:
        instance.full_clean(exclude=list(exclude))
    except DjangoValidationError as exc:
        raise ApplicationError(
            "Some fields are invalid.",
            code="validation_error",
            fields={
                name: [{"code": "invalid", "message": m} for m in messages]
                for name, messages in exc.message_dict.items()
            },
        ) from exc
    return instance


def error_body(
    *, code: str, message: str, fields: dict | None = None, extra: dict | None = None
) -> dict:
    body = {
        "code": code,
        "message": message,
        "fields": fields or {},
        "request_id": current_request_id(),
    }
    if extra:
        body.update(extra)
    return {"error": body}


def field_errors(detail) -> dict:
    """Turn DRF's nested ``get_full_details()`` output into ``{field: [{code, message}]}``."""
    if isinstance(detail, dict):
        out = {}
        for name, value in detail.items():
            key = "non_field_errors" if name == "non_field_errors" else name
            out[key] = _flatten(value)
        return out
    return {"non_field_errors": _flatten(detail)}


def _flatten(value) -> list:
    if isinstance(value, list):
        items = []
        for entry in value:
            items.extend(_flatten(entry))
        return items
    if isinstance(value, dict) and set(value) == {"message", "code"}:
        return [{"code": value["code"], "message": str(value["message"])}]
    if isinstance(value, dict):
        return [{"code": "invalid", "message": str(value), "fields": field_errors(value)}]
    return [{"code": "invalid", "message": str(value)}]


def set_rollback() -> None:
    # Imported here: rest_framework.views resolves DEFAULT_PERMISSION_CLASSES at import
    # time, and the policy permission class imports this module.
    from rest_framework.views import set_rollback as drf_set_rollback

    drf_set_rollback()


_MESSAGES = {
    "parse_error": "The request body is not valid JSON.",
    "not_authenticated": "Authentication credentials were not provided.",
    "authentication_failed": "Authentication failed.",
}


def api_exception_handler(exc, context):
    """DRF exception handler producing the one documented error shape."""
    if isinstance(exc, ApplicationError):
        set_rollback()
        return Response(
            error_body(code=exc.code, message=exc.message, fields=exc.fields, extra=exc.extra),
            status=exc.status_code,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            detail=exc.message_dict
            if hasattr(exc, "error_dict")
            else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        set_rollback()
        return Response(
            error_body(code="payload_too_large", message="The request body is too large."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    elif isinstance(exc, SuspiciousOperation):
        set_rollback()
        return Response(
            error_body(code="bad_request", message="The request was refused."),
            status=status.HTTP_400_BAD_REQUEST,
        )

    if not isinstance(exc, exceptions.APIException):
        return None  # unexpected: Django logs it and handler500 renders the JSON shape

    set_rollback()
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, exceptions.ValidationError):
        code, message = "validation_error", "Some fields are invalid."
        fields = field_errors(exc.get_full_details())
    else:
        full = exc.get_full_details()
        code = full.get("code", exc.default_code) if isinstance(full, dict) else exc.default_code
        message = _MESSAGES.get(code) or (
            str(full.get("message")) if isinstance(full, dict) else str(exc.detail)
        )
        fields = {}
    return Response(
        error_body(code=code, message=message, fields=fields),
        status=exc.status_code,
        headers=headers,
    )


# --- Django-level error views (outside DRF: 404 on unknown URLs, 500, CSRF) --------

_API_PREFIXES = ("/api/", "/health/", "/fhir/")


def wants_json(request) -> bool:
    return request.path.startswith(_API_PREFIXES)


def json_error(request, *, status_code: int, code: str, message: str) -> JsonResponse:
    response = JsonResponse(error_body(code=code, message=message), status=status_code)
    response["X-Request-ID"] = getattr(request, "request_id", current_request_id())
    return response

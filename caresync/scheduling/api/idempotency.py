"""The ``Idempotency-Key`` header on booking POSTs."""

from rest_framework.response import Response

from caresync.scheduling.services import idempotent

IDEMPOTENCY_HEADER = "Idempotency-Key"


def booking_response(request, *, payload: dict, handler) -> Response:
    """Run ``handler`` (returning ``(status, body)``) once per ``Idempotency-Key`` when the
    request carries one (a retry gets the first response), else just run it."""
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if key:
        status_code, body = idempotent(
            user=request.user, key=key[:255], payload=payload, handler=handler
        )
    else:
        status_code, body = handler()
    return Response(body, status=status_code)

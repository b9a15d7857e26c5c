"""``Idempotency-Key`` handling for booking requests: one response per key for 24 h."""

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from caresync.accounts.models import User
from caresync.core.errors import ApplicationError, error_body
from caresync.scheduling.models import IdempotencyKey

IDEMPOTENCY_TTL = timedelta(hours=24)


def idempotent(*, user: User, key: str, payload: dict, handler) -> tuple[int, dict]:
    """Run ``handler`` (returning ``(status, body)``) once per ``Idempotency-Key``: a retry
    with the same body gets the first response; another body gets 422. Concurrent
    duplicates wait on the key's unique index and then read the stored response."""
    request_hash = hashlib.sha256(
        json.dumps(payload, sort_keys=True, default=str).encode()
    ).hexdigest()
    now = timezone.now()
    with transaction.atomic():
        IdempotencyKey.objects.filter(
            user=user, key=key, created_at__lt=now - IDEMPOTENCY_TTL
        ).delete()
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    user=user, key=key, request_hash=request_hash
                )
        except IntegrityError:
            record = IdempotencyKey.objects.get(user=user, key=key)
            if record.request_hash != request_hash:
                raise ApplicationError(
                    "This Idempotency-Key was used with a different request.",
                    code="idempotency_key_reused",
                    status_code=422,
                ) from None
            return record.status_code, record.response_body
        try:
            status, body = handler()
        except ApplicationError as exc:
            status = exc.status_code
            body = error_body(
                code=exc.code, message=exc.message, fields=exc.fields, extra=exc.extra
            )
        record.status_code, record.response_body = status, body
        record.save(update_fields=["status_code", "response_body"])
        return status, body

"""Reads of platform state: the health of every backing component."""

import logging
import time
import uuid
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from caresync.celery import app as celery_app
from caresync.celery import ensure_filesystem_broker_folders
from caresync.core.models import AuditEvent, Heartbeat

logger = logging.getLogger(__name__)


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check() or {}
        result = {"status": "ok", **detail}
    except Exception as exc:  # noqa: BLE001 - any failure means "down"
        logger.warning("health check %s failed: %s", check.__name__, exc)
        result = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def _cache() -> dict:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the value just written")
    cache.delete(key)
    return {"backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]}


async def _channel_roundtrip(layer) -> None:
    channel = await layer.new_channel("health.")
    await layer.send(channel, {"type": "health.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "health.ping":
        raise RuntimeError("channel layer returned an unexpected message")


def _channel_layer() -> dict:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    async_to_sync(_channel_roundtrip)(layer)
    return {"backend": type(layer).__name__}


def _broker() -> dict:
    ensure_filesystem_broker_folders()
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
        transport = conn.transport_cls
    return {"transport": str(transport), "eager": bool(celery_app.conf.task_always_eager)}


def _scheduler() -> dict:
    beat = Heartbeat.objects.filter(name="beat").first()
    if beat is None:
        return {"status": "unknown", "last_beat": None}
    stale_after = timedelta(seconds=settings.HEARTBEAT_INTERVAL_SECONDS * 3)
    fresh = timezone.now() - beat.beat_at <= stale_after
    return {"status": "ok" if fresh else "stale", "last_beat": beat.beat_at.isoformat()}


def platform_health() -> dict:
    """Status of database, cache, channel layer and broker; ``ok`` only if all are up."""
    components = {
        "database": _timed(_database),
        "cache": _timed(_cache),
        "channel_layer": _timed(_channel_layer),
        "broker": _timed(_broker),
    }
    healthy = all(item["status"] == "ok" for item in components.values())
    try:
        scheduler = _scheduler()
    except Exception as exc:  # noqa: BLE001 - informational only
        scheduler = {"status": "unknown", "error": str(exc)[:300]}
    return {
        "status": "ok" if healthy else "degraded",
        "environment": settings.DJANGO_ENV,
        "components": components,
        "scheduler": scheduler,
        "checked_at": timezone.now().isoformat(),
    }


def audit_event_list(*, actor) -> QuerySet[AuditEvent]:
    """Audit events of the actor's organization, plus the sign-in events (which belong to no
    organization) of its members; platform admins without an organization see all."""
    from caresync.accounts.models import User

    events = AuditEvent.objects.select_related("actor", "organization").order_by("-id")
    if actor.is_platform_admin and actor.organization is None:
        return events
    if actor.organization is None:
        return events.none()
    member_ids = User.objects.filter(memberships__organization=actor.organization)
    member_emails = member_ids.values("email")
    return events.filter(
        Q(organization=actor.organization)
        | Q(organization__isnull=True, actor__in=member_ids.values("pk"))
        | Q(organization__isnull=True, actor__isnull=True, actor_label__in=member_emails)
    )

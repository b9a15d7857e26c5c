"""Notification delivery throughput: 1,000 queued text messages delivered by a real Celery
worker (PostgreSQL + Redis) through the Twilio transport to the local Twilio fake.

Two paths: ``tasks`` (one task per notification, as after a commit) and ``sweep`` (no task
at all: the periodic sweep alone, as after a broker outage). Prints one JSON object.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/caresync_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 python bench/notifications.py --count 1000
"""

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--provider-ms", type=float, default=0.0, help="fake latency per call")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    if not (database_url.startswith("postgres") and os.environ.get("REDIS_URL")):
        print(json.dumps({"benchmark": "notifications", "skipped": "needs PostgreSQL + Redis"}))
        return 0
    workdir = tempfile.mkdtemp(prefix="caresync-bench-notifications-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="caresync.settings", VAR_DIR=workdir, LOG_LEVEL="ERROR"
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    from caresync.celery import app as celery_app
    from caresync.integrations.twilio.fake import FakeTwilio
    from caresync.notifications.models import Notification
    from caresync.notifications.tasks import deliver_notification
    from caresync.notifications.tests.celery_worker import wait_for, worker_start, worker_stop

    call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
    celery_app.conf.task_always_eager = False
    results = {"benchmark": "notifications", "count": args.count, "concurrency": args.concurrency}
    sid, token = "AC" + "2" * 32, "bench-token"
    with FakeTwilio(account_sid=sid, auth_token=token) as fake:
        fake.delay = args.provider_ms / 1000
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": os.environ["REDIS_URL"],
            "VAR_DIR": workdir,
            "SMS_BACKEND": "caresync.integrations.twilio.client.TwilioSmsTransport",
            "TWILIO_ACCOUNT_SID": sid,
            "TWILIO_AUTH_TOKEN": token,
            "TWILIO_FROM_NUMBER": "+61400000000",
            "TWILIO_API_BASE_URL": fake.base_url,
            "HEARTBEAT_INTERVAL_SECONDS": "3600",
        }
        worker = worker_start(
            env=env, log_path=Path(workdir) / "worker.log", concurrency=args.concurrency
        )
        try:
            time.sleep(5)  # worker and beat up before the clock starts
            for path in ("tasks", "sweep"):
                Notification.objects.all().delete()
                before = len(fake.receipts())
                now = timezone.now()
                rows = Notification.objects.bulk_create(
                    Notification(
                        event_kind="appointment.reminder",
                        channel="sms",
                        recipient_key=f"phone:{path}:{i}",
                        to_address=f"+614{i:08d}",
                        body=f"{path} {i}: your appointment is tomorrow.",
                        next_attempt_at=now,
                    )
                    for i in range(args.count)
                )
                connections.close_all()
                started = time.monotonic()
                if path == "tasks":
                    for row in rows:
                        deliver_notification.apply_async(args=[row.pk])
                drained = wait_for(
                    lambda: (
                        Notification.objects.filter(status__in=("sent", "delivered")).count()
                        == args.count
                    ),
                    timeout=600,
                    step=0.1,
                )
                seconds = time.monotonic() - started
                receipts = Counter(m["to"] for m in fake.receipts()[before:])
                results[path] = {
                    "drained": drained,
                    "seconds_to_drain": round(seconds, 2),
                    "per_second": round(args.count / seconds, 1),
                    "provider_receipts": sum(receipts.values()),
                    "duplicates": sum(n - 1 for n in receipts.values() if n > 1),
                }
        finally:
            worker_stop(worker)
    print(json.dumps(results))
    exact = all(
        results[p]["drained"]
        and results[p]["provider_receipts"] == args.count
        and results[p]["duplicates"] == 0
        for p in ("tasks", "sweep")
    )
    return 0 if exact else 1


if __name__ == "__main__":
    raise SystemExit(main())

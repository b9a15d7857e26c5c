"""Booking latency over HTTP: concurrent writers (separate processes, each with its own
connection) POST /api/v1/appointments/ to a running server, one after another.
Each writer books distinct free slots (its own practitioners and patient, successive times
and days), so the figure is the latency of a booking, not of conflicts: p50/p95/p99 ms.

Usage: python bench/booking_latency.py [--writers 10] [--bookings 100] [--workers 2]
                                       [--server gunicorn|uvicorn] [--with-worker]
SQLite by default (a temporary file); set DATABASE_URL for PostgreSQL (reset by the run) and
REDIS_URL for Redis. The script prepares the data, starts the server itself on a free local
port (gunicorn, as production serves HTTP, or uvicorn, as ``make run`` does), and stops
it. With ``--with-worker`` a Celery worker runs alongside, as in production, relaying each
booking's outbox event to notifications and reminders on the same cores; the run then also
reports how long the relay took to catch up.
"""

import argparse
import contextlib
import http.client
import json
import os
import statistics
import sys
import time
import urllib.parse
from datetime import date, datetime, timedelta
from datetime import time as clock
from multiprocessing import Pool
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _live  # noqa: E402

ZONE = ZoneInfo("Australia/Sydney")
SLOTS_PER_DAY = 24  # 07:00–19:00 in half hours
WARM_UP = 5


def prepare(writers: int, practitioners: int) -> dict:
    _live.reset_database()
    from caresync.directory.models import Patient
    from caresync.directory.services import service_save
    from caresync.scheduling.models import Appointment
    from caresync.scheduling.selectors import closed_days

    organization, _, staff = _live.clinic("latency", practitioners, clock(7), clock(19))
    service = service_save(
        actor=None,
        organization=organization,
        name="Consult",
        category="in_person",
        duration_minutes=30,
        min_notice_minutes=0,
        practitioners=staff,
    )
    patients = Patient.objects.bulk_create(
        Patient(
            organization=organization,
            mrn=f"L-{n}",
            given_name="Writer",
            family_name=f"Patient {n}",
            date_of_birth=date(1980, 1, 1),
        )
        for n in range(writers + practitioners)
    )
    first_day = datetime.now(ZONE).date() + timedelta(days=2)
    # Writers book every day but public holidays, on which nobody works.
    holidays = closed_days(organization, first_day, first_day + timedelta(days=120))
    days = [first_day + timedelta(days=n) for n in range(120)]
    days = [day for day in days if day not in holidays]
    # A realistic table: 40% of every practitioner's half hours booked for two months after
    # the days the writers use.
    background = []
    for practitioner, patient in zip(staff, patients[writers:], strict=True):
        for day in days[40:100]:
            for slot in range(0, SLOTS_PER_DAY, 5):
                for taken in (slot, slot + 2):
                    if taken < SLOTS_PER_DAY:
                        begin = datetime.combine(day, clock(7), tzinfo=ZONE) + taken * timedelta(
                            minutes=30
                        )
                        background.append(
                            Appointment(
                                organization=organization,
                                patient=patient,
                                practitioner=practitioner,
                                service=service,
                                start=begin,
                                end=begin + timedelta(minutes=30),
                                status="scheduled",
                            )
                        )
    Appointment.objects.bulk_create(background, batch_size=5000)
    _live.register_client()
    return {
        "service": service.pk,
        "practitioners": [p.pk for p in staff],
        "patients": [p.pk for p in patients[:writers]],
        "days": [day.isoformat() for day in days],
        "background_appointments": len(background),
    }


def writer(job) -> list[tuple[int, float]]:
    """Book ``count`` + warm-up times one after another on one keep-alive connection."""
    base, token, index, writers, count, data = job
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    mine = data["practitioners"][index::writers] or data["practitioners"]
    days = [date.fromisoformat(day) for day in data["days"]]
    results = []
    for n in range(WARM_UP + count):
        day, slot = divmod(n, SLOTS_PER_DAY)
        start = datetime.combine(days[day], clock(7), tzinfo=ZONE)
        body = json.dumps(
            {
                "patient": data["patients"][index],
                "practitioner": mine[n % len(mine)],
                "service": data["service"],
                "start": (start + slot * timedelta(minutes=30)).isoformat(),
            }
        )
        started = time.perf_counter()
        connection.request("POST", "/api/v1/appointments/", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if n >= WARM_UP:
            results.append((response.status, (time.perf_counter() - started) * 1000))
    connection.close()
    return results


def queries_per_booking(data: dict) -> int:
    """Queries of one booking through the service, in this process (not timed)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from caresync.accounts.models import User
    from caresync.directory.models import Patient, Practitioner, Service
    from caresync.scheduling.services import appointment_book

    service = Service.objects.get(pk=data["service"])
    with CaptureQueriesContext(connection) as captured:
        appointment_book(
            actor=User.objects.get(email="desk@latency.test"),
            organization=service.organization,
            patient=Patient.objects.get(pk=data["patients"][0]),
            service=service,
            start=datetime.combine(date.fromisoformat(data["days"][30]), clock(9), tzinfo=ZONE),
            practitioner=Practitioner.objects.get(pk=data["practitioners"][0]),
        )
    return len(captured)


@contextlib.contextmanager
def _relay_worker(wanted: bool):
    """A Celery worker (with beat) for the run when ``wanted``; yields a function counting
    the outbox events not yet relayed."""
    from caresync.notifications.models import OutboxEvent

    def undispatched() -> int:
        return OutboxEvent.objects.filter(dispatched_at__isnull=True).count()

    if not wanted:
        yield undispatched
        return
    from caresync.notifications.tests.celery_worker import worker_start, worker_stop

    log = Path(os.environ["VAR_DIR"]) / "worker.log"
    worker = worker_start(env={}, log_path=log, concurrency=1)
    try:
        yield undispatched
    finally:
        worker_stop(worker)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writers", type=int, default=10)
    parser.add_argument("--bookings", type=int, default=100, help="per writer, after warm-up")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--server", choices=_live.SERVERS, default="gunicorn")
    parser.add_argument("--practitioners", type=int, default=20)
    parser.add_argument(
        "--with-worker", action="store_true", help="a Celery worker relays events meanwhile"
    )
    args = parser.parse_args()
    _live.configure("caresync-latency-")
    data = prepare(args.writers, args.practitioners)
    relay_seconds = None
    with (
        _live.server(args.workers, args.server) as base,
        _relay_worker(args.with_worker) as undispatched,
    ):
        token = _live.token(base, "desk@latency.test")
        jobs = [
            (base, token, index, args.writers, args.bookings, data) for index in range(args.writers)
        ]
        meter = _live.CpuMeter(base)
        with Pool(args.writers) as pool:
            meter.start()
            started = time.perf_counter()
            outcomes = [result for results in pool.map(writer, jobs) for result in results]
            elapsed = time.perf_counter() - started
            cpu = meter.stop()
        if args.with_worker:
            from caresync.notifications.tests.celery_worker import wait_for

            if not wait_for(lambda: undispatched() == 0, timeout=300):
                raise SystemExit("the relay did not catch up within 5 minutes")
            relay_seconds = round(time.perf_counter() - started - elapsed, 1)

    from django.db import connection

    latencies = [ms for status, ms in outcomes if status == 201]
    requests = args.writers * (WARM_UP + args.bookings)
    statuses = [status for status, _ in outcomes]
    result = {
        "benchmark": "booking_latency",
        "database": connection.vendor,
        "writers": args.writers,
        "server": args.server,
        "server_workers": args.workers,
        "bookings": len(outcomes),
        "created_201": statuses.count(201),
        "other": sorted({s for s in statuses if s != 201}),
        "background_appointments": data["background_appointments"],
        "bookings_per_second": round(len(outcomes) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(_live.percentile(latencies, 0.95), 1),
        "p99_ms": round(_live.percentile(latencies, 0.99), 1),
        "max_ms": round(max(latencies), 1),
        # Per request, the warm-up ones included (they ran in the measured span).
        "server_cpu_ms_per_booking": round(cpu["server"] * 1000 / requests, 1),
        "database_cpu_ms_per_booking": round(cpu["database"] * 1000 / requests, 1),
        "queries_per_booking": queries_per_booking(data),
        "with_worker": args.with_worker,
        "relay_behind_seconds": relay_seconds,
    }
    print(json.dumps(result, indent=2))
    raise SystemExit(0 if result["created_201"] == len(outcomes) else 1)


if __name__ == "__main__":
    main()

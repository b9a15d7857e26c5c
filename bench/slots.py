"""Any-practitioner slot search over 30 days: p50/p95, CPU time and query count, for 10, 50
and 200 practitioners with realistic weekly rules and about 40% of their time booked. Every
search is cold: nothing is cached between searches.

Usage: python bench/slots.py [--practitioners 10 50 200] [--repeat 15] [--booked 0.4]
SQLite by default (a temporary file); set DATABASE_URL for PostgreSQL (reset by the run).
"""

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _live  # noqa: E402 - the project's root on the path too


def build(count: int, rng: random.Random, start: datetime, share: float = 0.4):
    from caresync.accounts.services import (
        membership_create,
        organization_create,
        user_create,
    )
    from caresync.directory.models import Patient
    from caresync.directory.services import (
        location_save,
        practitioner_profile_create,
        service_save,
    )
    from caresync.scheduling.models import Appointment, AvailabilityRule

    slug = f"bench-{count}"
    organization = organization_create(
        actor=None,
        name=slug,
        slug=slug,
        time_zone="Australia/Sydney",
        country="AU",
        subdivision="NSW",
    )
    location = location_save(
        actor=None, organization=organization, name="Main", time_zone="Australia/Sydney"
    )
    practitioners = []
    for n in range(count):
        user = user_create(email=f"p{n}@{slug}.test", password=None)
        membership = membership_create(
            user=user, organization=organization, role="practitioner", practitioner_kind="doctor"
        )
        practitioners.append(practitioner_profile_create(actor=None, membership=membership))
    AvailabilityRule.objects.bulk_create(
        AvailabilityRule(
            organization=organization,
            practitioner=p,
            location=location,
            weekday=day,
            start_time=a,
            end_time=b,
        )
        for p in practitioners
        for day in range(5)
        for a, b in ((clock(9), clock(12, 30)), (clock(13, 30), clock(17)))
    )
    service = service_save(
        actor=None,
        organization=organization,
        name="Consult",
        category="in_person",
        duration_minutes=30,
        min_notice_minutes=0,
        practitioners=practitioners,
    )
    # One patient per practitioner, so no patient holds two overlapping bookings.
    patients = Patient.objects.bulk_create(
        Patient(
            organization=organization,
            mrn=f"B{count}-{n}",
            given_name="Bench",
            family_name=f"Patient {n}",
            date_of_birth=date(1980, 1, 1),
        )
        for n in range(count)
    )
    booked = []
    zone = start.tzinfo
    for p, patient in zip(practitioners, patients, strict=True):
        for offset in range(31):
            day = (start + timedelta(days=offset)).date()
            if day.weekday() >= 5:
                continue
            for half_hour in range(14):  # 7 working hours = 14 half hours
                if rng.random() < share:
                    hour, minute = divmod(9 * 60 + half_hour * 30, 60)
                    if hour == 12 and minute >= 30 or hour == 13 and minute < 30:
                        continue
                    begin = datetime.combine(day, clock(hour, minute), tzinfo=zone)
                    booked.append(
                        Appointment(
                            organization=organization,
                            patient=patient,
                            practitioner=p,
                            service=service,
                            start=begin,
                            end=begin + timedelta(minutes=30),
                            status="scheduled",
                        )
                    )
    Appointment.objects.bulk_create(booked, batch_size=5000)
    return organization, service


def database_cpu_ms(connection) -> float | None:
    """CPU time used so far by this connection's PostgreSQL server process (same machine),
    in ms; None for SQLite (it runs in this process)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return _live.cpu_seconds(pid) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--practitioners", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--booked", type=float, default=0.4, help="share of working half hours booked"
    )
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="caresync-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3")
    os.environ["VAR_DIR"] = workdir
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caresync.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor == "postgresql":
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
    from caresync.scheduling.models import Appointment
    from caresync.scheduling.services import slots_search
    from caresync.scheduling.slots import Interval

    rng = random.Random(11)  # noqa: S311 - benchmark data
    from zoneinfo import ZoneInfo

    start = datetime(2026, 3, 2, tzinfo=ZoneInfo("Australia/Sydney"))
    window = Interval(start, start + timedelta(days=30))
    now = datetime(2026, 2, 1, tzinfo=UTC)
    results = []
    for count in args.practitioners:
        organization, service = build(count, rng, start, args.booked)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

        def search(organization=organization, service=service):
            return slots_search(
                organization=organization,
                service=service,
                window=window,
                now=now,
                distinct_times=True,
            )

        for _ in range(2):  # warm-up: imports, first connection, time zone data
            search()
        timings, queries, found = [], [], 0
        database_before, client_before = database_cpu_ms(connection), time.process_time()
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as captured:
                t0 = time.perf_counter()
                slots = search()
                timings.append((time.perf_counter() - t0) * 1000)
            queries.append(len(captured))
            found = len(slots)
        cpu = (time.process_time() - client_before) * 1000
        if database_before is not None:
            cpu += database_cpu_ms(connection) - database_before
        results.append(
            {
                "practitioners": count,
                "days": 30,
                "booked": args.booked,
                "appointments": Appointment.objects.filter(service=service).count(),
                "slots": found,
                "p50_ms": round(statistics.median(timings), 1),
                "p95_ms": round(_live.percentile(timings, 0.95), 1),
                "cpu_ms": round(cpu / args.repeat, 1),
                "queries": sorted(set(queries)),
            }
        )
    print(
        json.dumps(
            {
                "benchmark": "slots_any_practitioner",
                "database": connection.vendor,
                "load_average": os.getloadavg()[0],
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

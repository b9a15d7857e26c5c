"""Booking races over HTTP against a running server (separate client processes and
connections).

Race (default): N clients book the same slot at once. Expect exactly one 201, N-1 409s and
no overlapping rows.

Soak (``--soak 10000``): clients make that many random bookings, cancellations and
reschedules between them, on a few busy days of a small clinic (practitioners, patients who
book more than once, and scanners that scans need), so many requests collide. Expect no
server error and, checked with SQL afterwards, no two blocking appointments of one
practitioner or one patient, and no two blocking holds of one resource, that overlap.

Usage: python bench/booking_race.py [--clients 64] [--workers 2] [--server gunicorn|uvicorn]
       python bench/booking_race.py --soak 10000 [--clients 16] [--workers 2] [--server …]
SQLite by default (a temporary file); set DATABASE_URL for PostgreSQL (reset by the run).
The script prepares the data, starts the server itself on a free local port (gunicorn, as
production serves HTTP, or uvicorn, as ``make run`` does), and stops it.
"""

import argparse
import http.client
import json
import random
import statistics
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _live  # noqa: E402

ZONE = ZoneInfo("Australia/Sydney")
SOAK_DAYS = 3
SOAK_PRACTITIONERS = 6
SOAK_PATIENTS = 40
SOAK_SCANNERS = 2
DAY_START, DAY_END = clock(8), clock(18)


def prepare(clients: int, practitioners: int = 1, patients: int | None = None) -> dict:
    _live.reset_database()
    from caresync.directory.models import Patient
    from caresync.directory.services import resource_save, service_save
    from caresync.scheduling.selectors import closed_days

    # One practitioner (the race) works around the clock; the soak's clinic keeps hours.
    start, end = (clock(0), clock(23, 45)) if practitioners == 1 else (DAY_START, DAY_END)
    organization, location, doctors = _live.clinic("race", practitioners, start, end)
    consult = service_save(
        actor=None,
        organization=organization,
        name="Consult",
        category="in_person",
        duration_minutes=30,
        min_notice_minutes=0,
        practitioners=doctors,
    )
    scan = service_save(
        actor=None,
        organization=organization,
        name="MRI",
        category="radiology",
        duration_minutes=45,
        buffer_after_minutes=15,
        min_notice_minutes=0,
        practitioners=doctors,
        resource_needs=[{"kind": "scanner", "modality": "MR"}],
    )
    for n in range(SOAK_SCANNERS):
        resource_save(
            actor=None,
            organization=organization,
            location=location,
            name=f"MRI {n + 1}",
            kind="scanner",
            modality="MR",
        )
    people = Patient.objects.bulk_create(
        Patient(
            organization=organization,
            mrn=f"R-{n}",
            given_name=f"C{n}",
            family_name="Race",
            date_of_birth=date(1990, 1, 1) + timedelta(days=n),
        )
        for n in range(patients or clients)
    )
    _live.register_client()
    today = datetime.now(ZONE).date()
    holidays = closed_days(organization, today, today + timedelta(days=30))
    days = [today + timedelta(days=n) for n in range(2, 30)]
    days = [day for day in days if day not in holidays][:SOAK_DAYS]
    return {
        "doctors": [d.pk for d in doctors],
        "services": [consult.pk, scan.pk],
        "patients": [p.pk for p in people],
        "days": [day.isoformat() for day in days],
        "start": datetime.combine(days[0], clock(10), tzinfo=ZONE).isoformat(),
    }


def post(url: str, data: bytes, headers: dict) -> tuple[int, float]:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            return response.status, time.perf_counter() - started
    except urllib.error.HTTPError as error:
        return error.code, time.perf_counter() - started


def book(args) -> tuple[int, float]:
    base, token, body = args
    return post(
        f"{base}/api/v1/appointments/",
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )


def race(args, data: dict, base: str, token: str) -> dict:
    jobs = [
        (
            base,
            token,
            {
                "patient": patient,
                "practitioner": data["doctors"][0],
                "service": data["services"][0],
                "start": data["start"],
            },
        )
        for patient in data["patients"]
    ]
    with ProcessPoolExecutor(max_workers=args.clients) as pool:
        started = time.perf_counter()
        outcomes = list(pool.map(book, jobs))
        elapsed = time.perf_counter() - started
    statuses = [status for status, _ in outcomes]
    latencies = sorted(seconds * 1000 for _, seconds in outcomes)
    return {
        "clients": args.clients,
        "created_201": statuses.count(201),
        "conflict_409": statuses.count(409),
        "other": sorted(s for s in statuses if s not in (201, 409)),
        "wall_seconds": round(elapsed, 2),
        "p50_ms": round(latencies[len(latencies) // 2], 1),
        "max_ms": round(latencies[-1], 1),
    }


def soak_client(job) -> dict:
    """One client's share of the soak: random operations on one keep-alive connection. It
    cancels and moves only appointments it booked itself (as a front desk would)."""
    base, token, seed, operations, data = job
    rng = random.Random(seed)  # noqa: S311 - benchmark data
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    days = [date.fromisoformat(day) for day in data["days"]]
    quarter_hours = (DAY_END.hour - DAY_START.hour) * 4

    def random_start() -> str:
        day = datetime.combine(rng.choice(days), DAY_START, tzinfo=ZONE)
        return (day + timedelta(minutes=15 * rng.randrange(quarter_hours))).isoformat()

    def call(path: str, body: dict) -> tuple[str, dict]:
        """("201", body) or, for errors, ("409 slot_unavailable", body)."""
        connection.request("POST", path, body=json.dumps(body), headers=headers)
        response = connection.getresponse()
        try:
            payload = json.loads(response.read() or b"{}")
        except ValueError:
            payload = {}
        code = payload.get("error", {}).get("code", "") if response.status >= 400 else ""
        return f"{response.status} {code}".strip(), payload

    mine: list[int] = []
    counts: dict[str, dict[str, int]] = {"book": {}, "cancel": {}, "reschedule": {}}
    book_ms = []
    for _ in range(operations):
        kind = rng.choices(["book", "cancel", "reschedule"], weights=[6, 2, 2])[0]
        if kind != "book" and not mine:
            kind = "book"
        if kind == "book":
            body = {
                "patient": rng.choice(data["patients"]),
                "service": rng.choices(data["services"], weights=[4, 1])[0],
                "start": random_start(),
            }
            if rng.random() < 0.7:  # else "any practitioner"
                body["practitioner"] = rng.choice(data["doctors"])
            started = time.perf_counter()
            status, payload = call("/api/v1/appointments/", body)
            if status == "201":
                book_ms.append((time.perf_counter() - started) * 1000)
                mine.append(payload["id"])
        elif kind == "cancel":
            appointment = mine.pop(rng.randrange(len(mine)))
            status, _ = call(f"/api/v1/appointments/{appointment}/cancel/", {"reason": "Soak"})
        else:
            appointment = rng.choice(mine)
            body = {"start": random_start(), "reason": ""}
            if rng.random() < 0.3:
                body["practitioner"] = rng.choice(data["doctors"])
            status, _ = call(f"/api/v1/appointments/{appointment}/reschedule/", body)
        counts[kind][status] = counts[kind].get(status, 0) + 1
    connection.close()
    return {"counts": counts, "book_ms": book_ms}


OVERLAPS = {
    # Two blocking appointments of one practitioner (or patient) that overlap in time.
    "practitioner": """
        SELECT count(*) FROM scheduling_appointment a JOIN scheduling_appointment b
          ON a.practitioner_id = b.practitioner_id AND a.id < b.id
         AND a.start < b."end" AND b.start < a."end"
         WHERE a.status IN %(blocking)s AND b.status IN %(blocking)s""",
    "patient": """
        SELECT count(*) FROM scheduling_appointment a JOIN scheduling_appointment b
          ON a.patient_id = b.patient_id AND a.id < b.id
         AND a.start < b."end" AND b.start < a."end"
         WHERE a.status IN %(blocking)s AND b.status IN %(blocking)s""",
    # Two blocking holds of one resource that overlap.
    "resource": """
        SELECT count(*) FROM scheduling_appointmentresource a
          JOIN scheduling_appointmentresource b
          ON a.resource_id = b.resource_id AND a.id < b.id
         AND a.start < b."end" AND b.start < a."end"
         WHERE a.blocking AND b.blocking""",
    # A scan's buffer after it (15 minutes) overlapping another hold of its scanner: the
    # engine never offers such a time; the database constraint covers the visit itself.
    "resource_buffer": """
        SELECT count(*) FROM scheduling_appointmentresource a
          JOIN scheduling_appointmentresource b
          ON a.resource_id = b.resource_id AND a.id <> b.id
         AND a.start < b."end" AND b.start < a."end" + %(buffer)s
         WHERE a.blocking AND b.blocking""",
}


def overlaps() -> dict[str, int]:
    from django.db import connection

    from caresync.scheduling.models import Appointment

    blocking = "(" + ", ".join(f"'{status}'" for status in Appointment.BLOCKING) + ")"
    buffer = "interval '15 minutes'" if connection.vendor == "postgresql" else "0"
    found = {}
    with connection.cursor() as cursor:
        for name, sql in OVERLAPS.items():
            if name == "resource_buffer" and connection.vendor != "postgresql":
                # SQLite stores datetimes as text: add the buffer with datetime().
                sql = sql.replace('a."end" + %(buffer)s', "datetime(a.\"end\", '+15 minutes')")
            cursor.execute(sql.replace("%(blocking)s", blocking).replace("%(buffer)s", buffer))
            found[name] = cursor.fetchone()[0]
    return found


def soak(args, data: dict, base: str, token: str) -> dict:
    share, extra = divmod(args.soak, args.clients)
    jobs = [(base, token, seed, share + (seed < extra), data) for seed in range(args.clients)]
    with ProcessPoolExecutor(max_workers=args.clients) as pool:
        started = time.perf_counter()
        results = list(pool.map(soak_client, jobs))
        elapsed = time.perf_counter() - started
    counts: dict[str, dict[str, int]] = {"book": {}, "cancel": {}, "reschedule": {}}
    for result in results:
        for kind, by_status in result["counts"].items():
            for status, number in by_status.items():
                counts[kind][status] = counts[kind].get(status, 0) + number
    book_ms = [ms for result in results for ms in result["book_ms"]]
    booked = int(counts["book"].get("201", 0))
    moved = int(counts["reschedule"].get("200", 0))
    errors = sum(
        number
        for by_status in counts.values()
        for status, number in by_status.items()
        if int(status.split()[0]) >= 500
    )
    return {
        "clients": args.clients,
        "operations": args.soak,
        "by_operation_and_status": counts,
        "server_errors": errors,
        "wall_seconds": round(elapsed, 1),
        "operations_per_second": round(args.soak / elapsed, 1),
        "bookings_per_second": round(booked / elapsed, 1),
        "reschedules_per_second": round(moved / elapsed, 1),
        "booking_p50_ms": round(statistics.median(book_ms), 1) if book_ms else None,
        "booking_p99_ms": round(_live.percentile(book_ms, 0.99), 1) if book_ms else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=None, help="64 (race), 16 (soak)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--server", choices=_live.SERVERS, default="gunicorn")
    parser.add_argument("--soak", type=int, default=0, help="operations; 0: the one-slot race")
    args = parser.parse_args()
    args.clients = args.clients or (16 if args.soak else 64)
    _live.configure("caresync-race-")
    if args.soak:
        data = prepare(args.clients, practitioners=SOAK_PRACTITIONERS, patients=SOAK_PATIENTS)
    else:
        data = prepare(args.clients)
    with _live.server(args.workers, args.server) as base:
        token = _live.token(base, "desk@race.test")
        result = (soak if args.soak else race)(args, data, base, token)

    from django.db import connection

    from caresync.scheduling.models import Appointment

    found = overlaps()
    result = {
        "benchmark": "booking_soak" if args.soak else "booking_race",
        "database": connection.vendor,
        "server": args.server,
        "server_workers": args.workers,
        **result,
        "blocking_rows": Appointment.objects.filter(status__in=Appointment.BLOCKING).count(),
        "overlapping_rows": {name: found[name] for name in ("practitioner", "patient", "resource")},
        "scan_buffer_overlaps": found["resource_buffer"],
    }
    print(json.dumps(result, indent=2))
    clean = not any(result["overlapping_rows"].values())
    if args.soak:
        ok = clean and result["server_errors"] == 0
    else:
        ok = clean and result["created_201"] == 1 and result["conflict_409"] == args.clients - 1
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()

"""Booking race over HTTP: N concurrent clients (separate processes and connections) book the
same slot on a running server. Expect exactly one 201, N-1 409s, and no overlapping rows.

Usage: python bench/booking_race.py [--clients 64] [--workers 2]
SQLite by default (a temporary file); set DATABASE_URL for PostgreSQL (reset by the run).
The script prepares the data, starts uvicorn itself on a free local port, and stops it.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SECRET = "bench-client-secret"
PASSWORD = "bench-password-123"


def prepare(clients: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
    from caresync.accounts.models import Application
    from caresync.accounts.services import (
        membership_create,
        oauth_application_register,
        organization_create,
        user_create,
    )
    from caresync.directory.services import (
        location_save,
        patient_create,
        practitioner_profile_create,
        service_save,
    )
    from caresync.scheduling.services import availability_rule_save

    organization = organization_create(
        actor=None, name="Race", slug="race", time_zone="Australia/Sydney", country="AU"
    )
    staff = user_create(email="desk@race.test", password=PASSWORD)
    membership_create(user=staff, organization=organization, role="staff")
    doctor_user = user_create(email="dr@race.test", password=None)
    doctor = practitioner_profile_create(
        actor=None,
        membership=membership_create(
            user=doctor_user,
            organization=organization,
            role="practitioner",
            practitioner_kind="doctor",
        ),
    )
    location = location_save(
        actor=None, organization=organization, name="Main", time_zone="Australia/Sydney"
    )
    for weekday in range(7):
        availability_rule_save(
            actor=None,
            practitioner=doctor,
            location=location,
            weekday=weekday,
            start_time=datetime.min.time(),
            end_time=datetime.max.time().replace(microsecond=0, second=0, minute=45, hour=23),
        )
    service = service_save(
        actor=None,
        organization=organization,
        name="Consult",
        category="in_person",
        duration_minutes=30,
        min_notice_minutes=0,
        practitioners=[doctor],
    )
    patients = [
        patient_create(
            actor=None,
            organization=organization,
            given_name=f"C{n}",
            family_name="Race",
            date_of_birth=date(1990, 1, 1) + timedelta(days=n),
        ).pk
        for n in range(clients)
    ]
    oauth_application_register(
        name="Bench", grant_type=Application.GRANT_PASSWORD, client_id="bench", client_secret=SECRET
    )
    start = (datetime.now(ZoneInfo("Australia/Sydney")) + timedelta(days=2)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    return {
        "doctor": doctor.pk,
        "service": service.pk,
        "patients": patients,
        "start": start.isoformat(),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, data: bytes, headers: dict) -> tuple[int, float]:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="caresync-race-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir}/race.sqlite3")
    os.environ.update(
        VAR_DIR=workdir,
        DEBUG="false",
        DJANGO_SETTINGS_MODULE="caresync.settings",
        API_THROTTLE_USER="100000/minute",
        API_THROTTLE_ANON="100000/minute",
    )
    os.environ.pop("REDIS_URL", None)
    data = prepare(args.clients)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "caresync.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/health/", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        token_request = urllib.parse.urlencode(
            {
                "grant_type": "password",
                "username": "desk@race.test",
                "password": PASSWORD,
                "client_id": "bench",
                "client_secret": SECRET,
                "scope": "user/*.*",
            }
        ).encode()
        with urllib.request.urlopen(
            f"{base}/api/v1/auth/token/",
            data=token_request,
            timeout=30,
        ) as response:
            token = json.loads(response.read())["access_token"]
        jobs = [
            (
                base,
                token,
                {
                    "patient": patient,
                    "practitioner": data["doctor"],
                    "service": data["service"],
                    "start": data["start"],
                },
            )
            for patient in data["patients"]
        ]
        with ProcessPoolExecutor(max_workers=args.clients) as pool:
            started = time.perf_counter()
            outcomes = list(pool.map(book, jobs))
            elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)

    from django.db import connection

    from caresync.scheduling.models import Appointment

    rows = list(
        Appointment.objects.filter(status__in=Appointment.BLOCKING).values_list(
            "practitioner_id", "start", "end"
        )
    )
    overlaps = sum(
        1
        for i, a in enumerate(rows)
        for b in rows[i + 1 :]
        if a[0] == b[0] and a[1] < b[2] and b[1] < a[2]
    )
    statuses = [status for status, _ in outcomes]
    latencies = sorted(seconds * 1000 for _, seconds in outcomes)
    result = {
        "benchmark": "booking_race",
        "database": connection.vendor,
        "clients": args.clients,
        "server_workers": args.workers,
        "created_201": statuses.count(201),
        "conflict_409": statuses.count(409),
        "other": sorted(s for s in statuses if s not in (201, 409)),
        "overlapping_rows": overlaps,
        "blocking_rows": len(rows),
        "wall_seconds": round(elapsed, 2),
        "p50_ms": round(latencies[len(latencies) // 2], 1),
        "max_ms": round(latencies[-1], 1),
    }
    print(json.dumps(result, indent=2))
    ok = result["created_201"] == 1 and result["conflict_409"] == args.clients - 1 and not overlaps
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()

"""Shared by the HTTP benchmarks: a throw-away database, a server on a free local port, an
OAuth token. Not a benchmark itself (``run_all.py`` skips names starting with ``_``)."""

import contextlib
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CLIENT_SECRET = "bench-client-secret"
PASSWORD = "bench-password-123"


def configure(prefix: str) -> None:
    """Environment for a benchmark run: SQLite in a temporary file unless DATABASE_URL is
    set; Redis (cache, channel layer, task broker) only when REDIS_URL is set, else the
    local-memory cache, in-memory channel layer and file-system broker; no throttling."""
    workdir = tempfile.mkdtemp(prefix=prefix)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3")
    os.environ.update(
        VAR_DIR=workdir,
        DEBUG="false",
        DJANGO_SETTINGS_MODULE="caresync.settings",
        API_THROTTLE_USER="1000000/minute",
        API_THROTTLE_ANON="1000000/minute",
        LOG_LEVEL="ERROR",  # not a warning line per 409
    )


def reset_database() -> None:
    """Django set up, the PostgreSQL database emptied (a SQLite file is new), migrated; with
    Redis, the task queues and the cache emptied too: tasks an earlier run queued name rows
    that are gone, and a worker started by this run would work through them first."""
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection

    from caresync.celery import app

    if connection.vendor == "postgresql":
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
    if os.environ.get("REDIS_URL"):
        app.control.purge()
        cache.clear()


def clinic(slug: str, practitioners: int, start, end):
    """A Sydney clinic for an HTTP benchmark (called after ``reset_database``): a front-desk
    login ``desk@<slug>.test`` (password ``PASSWORD``), one location, and ``practitioners``
    doctors working ``start``–``end`` every day. Returns (organization, location, doctors)."""
    from caresync.accounts.services import membership_create, organization_create, user_create
    from caresync.directory.services import location_save, practitioner_profile_create
    from caresync.scheduling.services import availability_rule_save

    zone = "Australia/Sydney"
    organization = organization_create(
        actor=None, name=slug.title(), slug=slug, time_zone=zone, country="AU"
    )
    desk = user_create(email=f"desk@{slug}.test", password=PASSWORD)
    membership_create(user=desk, organization=organization, role="staff")
    location = location_save(actor=None, organization=organization, name="Main", time_zone=zone)
    doctors = []
    for n in range(practitioners):
        membership = membership_create(
            user=user_create(email=f"dr{n}@{slug}.test", password=None),
            organization=organization,
            role="practitioner",
            practitioner_kind="doctor",
        )
        doctor = practitioner_profile_create(actor=None, membership=membership)
        for weekday in range(7):
            availability_rule_save(
                actor=None,
                practitioner=doctor,
                location=location,
                weekday=weekday,
                start_time=start,
                end_time=end,
            )
        doctors.append(doctor)
    return organization, location, doctors


def register_client() -> None:
    from caresync.accounts.models import Application
    from caresync.accounts.services import oauth_application_register

    oauth_application_register(
        name="Bench",
        grant_type=Application.GRANT_PASSWORD,
        client_id="bench",
        client_secret=CLIENT_SECRET,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SERVERS = ("gunicorn", "uvicorn")


def server_command(kind: str, port: int, workers: int) -> list[str]:
    """How production serves HTTP (docs/deployment.md): gunicorn's sync workers running the
    WSGI application. ``uvicorn`` runs the ASGI application instead, as ``make run`` does
    (one process for pages, API and WebSockets)."""
    if kind == "uvicorn":
        app, where = "caresync.asgi:application", ("--host", "127.0.0.1", "--port", str(port))
    else:
        app, where = "caresync.wsgi:application", ("--bind", f"127.0.0.1:{port}")
    return [
        sys.executable,
        "-m",
        kind,
        app,
        *where,
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]


class Server(str):
    """A running server's base URL, with the process id of its master (or only) process."""

    pid: int


@contextlib.contextmanager
def server(workers: int, kind: str = "gunicorn"):
    """The project served on a free loopback port (``kind``: one of ``SERVERS``); yields its
    base URL (a ``Server``)."""
    from django.db import connections

    connections.close_all()  # the server processes open their own
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        server_command(kind, port, workers), cwd=ROOT, env=os.environ.copy()
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/health/", timeout=2)  # noqa: S310 - loopback
                break
            except OSError:
                time.sleep(0.3)
        running = Server(base)
        running.pid = process.pid
        yield running
    finally:
        process.terminate()
        process.wait(timeout=30)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 when it is gone); Linux ``/proc``."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except OSError:
        return []


def _database_backends() -> list[int]:
    """PostgreSQL backends of the benchmark's database but this process's own (empty on
    SQLite, which runs inside the server processes)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


class CpuMeter:
    """CPU used between ``start()`` and ``stop()`` by the server (its master and workers)
    and by the database's backends when PostgreSQL runs on this machine: on a shared,
    noisy machine a steadier figure than throughput. Backends that come and go between the
    two readings (no persistent connections) are missed, so that figure is a floor."""

    def __init__(self, server: Server):
        self.server = server

    def _read(self) -> tuple[dict[int, float], dict[int, float]]:
        processes = [self.server.pid, *_children(self.server.pid)]
        return (
            {pid: cpu_seconds(pid) for pid in processes},
            {pid: cpu_seconds(pid) for pid in _database_backends()},
        )

    def start(self) -> None:
        self.before = self._read()

    def stop(self) -> dict[str, float]:
        after = self._read()
        server, database = (
            sum(seconds - before.get(pid, 0.0) for pid, seconds in now.items())
            for before, now in zip(self.before, after, strict=True)
        )
        return {"server": server, "database": database}


def token(base: str, username: str) -> str:
    """An access token for ``username`` (password grant of the bench OAuth client)."""
    form = urllib.parse.urlencode(
        {
            "grant_type": "password",
            "username": username,
            "password": PASSWORD,
            "client_id": "bench",
            "client_secret": CLIENT_SECRET,
            "scope": "user/*.*",
        }
    ).encode()
    with urllib.request.urlopen(  # noqa: S310 - loopback
        f"{base}/api/v1/auth/token/", data=form, timeout=30
    ) as response:
        return json.loads(response.read())["access_token"]


def percentile(samples, fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]

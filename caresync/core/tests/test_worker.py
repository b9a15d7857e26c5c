"""A real Celery worker with embedded beat, on Redis and PostgreSQL (the second test tier)."""

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from caresync.celery import app as celery_app
from caresync.core.models import Heartbeat
from caresync.core.tasks import heartbeat

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def worker_database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(tmp_path):
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        pytest.skip("needs REDIS_URL and PostgreSQL (make test-pg)")
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "HEARTBEAT_INTERVAL_SECONDS": "1",
        "VAR_DIR": str(tmp_path),
    }
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "caresync",
            "worker",
            "--beat",
            "--concurrency",
            "1",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "INFO",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=settings.BASE_DIR,
        start_new_session=True,
    )
    yield process
    # Stop the worker, its pool and the embedded beat: the whole process group.
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
        # The pool and beat children may outlive the main process by a moment.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            os.killpg(process.pid, 0)
            time.sleep(0.2)
    except ProcessLookupError:
        pass
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def wait_for(predicate, timeout=45.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def test_beat_and_worker_run_the_periodic_heartbeat(worker):
    assert wait_for(lambda: Heartbeat.objects.filter(name="beat", count__gte=2).exists()), (
        "beat did not schedule two heartbeats within the time limit"
    )


def test_a_task_sent_through_redis_is_executed_by_the_worker(worker):
    celery_app.conf.task_always_eager = False
    heartbeat.apply_async()
    assert wait_for(lambda: Heartbeat.objects.filter(name="beat").exists())

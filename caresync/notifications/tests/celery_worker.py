"""A real Celery worker (with embedded beat) in its own process group, for the failure
tests and ``bench/notifications.py``: the notification settings shortened so retries and
lost-worker recovery happen within seconds."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

FAST_DELIVERY = {
    "NOTIFICATION_RETRY_BASE_SECONDS": "1",
    "NOTIFICATION_RETRY_MAX_SECONDS": "2",
    "NOTIFICATION_MAX_ATTEMPTS": "50",
    "NOTIFICATION_SENDING_TIMEOUT_SECONDS": "6",
    "NOTIFICATION_SWEEP_SECONDS": "1",
    "TWILIO_TIMEOUT_SECONDS": "3",
}


def worker_start(*, env: dict, log_path: Path, concurrency: int = 2) -> subprocess.Popen:
    log = open(log_path, "a")  # noqa: SIM115 - the process owns it until it exits
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "caresync",
            "worker",
            "--beat",
            "--concurrency",
            str(concurrency),
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "WARNING",
        ],
        env={**os.environ, **FAST_DELIVERY, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        start_new_session=True,
    )


def worker_stop(process: subprocess.Popen, *, sig: int = signal.SIGTERM) -> None:
    """Stop the worker, its pool and beat (the whole process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + 10
    with contextlib.suppress(ProcessLookupError):
        while time.monotonic() < deadline:
            os.killpg(process.pid, 0)
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGKILL)


def wait_for(predicate, timeout: float = 60.0, step: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()

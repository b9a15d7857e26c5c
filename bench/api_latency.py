"""In-process latency of the API frame: GET /health/ and GET /api/v1/me/.

Runs against a throw-away database (SQLite by default; set DATABASE_URL for PostgreSQL),
prints one JSON object. Usage: python bench/api_latency.py [--requests N]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))
    return ordered[index]


def measure(client, path: str, count: int) -> dict:
    for _ in range(min(20, count)):  # warm-up
        client.get(path)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return {
        "path": path,
        "requests": count,
        "p50_ms": round(statistics.median(samples), 3),
        "p95_ms": round(percentile(samples, 0.95), 3),
        "max_ms": round(max(samples), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="caresync-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3")
    os.environ["VAR_DIR"] = workdir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caresync.settings")
    os.environ["DEBUG"] = "false"

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)
    call_command("seed_demo", quiet_logins=True, verbosity=0)

    from caresync.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email="doctor1@harbour-health.test"))
    results = [
        measure(client, "/health/", args.requests),
        measure(client, "/api/v1/me/", args.requests),
    ]
    print(
        json.dumps(
            {"benchmark": "api_latency", "database": connection.vendor, "results": results},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

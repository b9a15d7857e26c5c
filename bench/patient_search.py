"""Front-desk patient search over 100,000 patients: p50/p95 per kind of query.

Measures what GET /api/v1/patients/?q=… does in the database: the search selector, the
count for pagination and the first page of 25. Usage:
    python bench/patient_search.py [--patients 100000] [--queries 200]
SQLite by default (a temporary file); set DATABASE_URL for PostgreSQL (the database must
exist and is reset by the benchmark).
"""

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Name pools with a realistic spread: ~1,900 family names, ~130 given names.
ROOTS = [
    "Smith",
    "Jones",
    "Wil",
    "Brown",
    "Tay",
    "Ngu",
    "John",
    "Mart",
    "White",
    "And",
    "Thomp",
    "Shres",
    "Adhik",
    "Kark",
    "Tam",
    "Gur",
    "O'Bri",
    "Núñ",
    "Walk",
    "Harr",
    "Lee",
    "Clark",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Bak",
    "Hall",
    "Lew",
    "Rob",
    "Ram",
    "Wei",
    "Pand",
    "Bhatt",
    "Kel",
    "Mur",
    "Ros",
    "Camp",
    "Stew",
    "Mor",
    "Cole",
    "Ward",
    "Hugh",
    "Ed",
    "Fost",
    "Gray",
    "Price",
    "Bell",
    "Coop",
    "Rich",
    "Cox",
    "Howe",
    "Brook",
    "Sand",
    "Hunt",
    "Ry",
    "Mill",
    "Fish",
    "Stone",
    "Lam",
    "Koi",
]
ENDINGS = [
    "",
    "son",
    "er",
    "ley",
    "ton",
    "ford",
    "wood",
    "field",
    "ham",
    "well",
    "s",
    "ing",
    "man",
    "ett",
    "ard",
    "ell",
    "sby",
    "more",
    "dale",
    "worth",
    "ridge",
    "ick",
    "ington",
    "stead",
    "ey",
    "ins",
    "ards",
    "bury",
    "cott",
    "land",
]
FAMILY_POOL = [root + ending for root in ROOTS for ending in ENDINGS]
GIVEN = [
    "Olivia",
    "Jack",
    "Charlotte",
    "Noah",
    "Amelia",
    "William",
    "Isla",
    "Oliver",
    "Mia",
    "Henry",
    "Ava",
    "Leo",
    "Grace",
    "Lucas",
    "Chloe",
    "Aarav",
    "Sita",
    "Ramesh",
    "Gita",
    "Bikash",
    "Anjali",
    "José",
    "Zoë",
    "Liam",
    "Sophie",
    "Priya",
    "Chen",
    "Emma",
    "Ethan",
]
GIVEN_POOL = [g + suffix for g in GIVEN for suffix in ("", "a", "ie", "y", "o")]


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def populate(organization, count, rng):
    from caresync.directory.models import Patient
    from caresync.directory.normalize import name_key, phone_key

    batch = []
    for n in range(1, count + 1):
        given, family = rng.choice(GIVEN_POOL), rng.choice(FAMILY_POOL)
        phone = f"+61 4{rng.randrange(10_000_000, 99_999_999)}"
        email = f"{given.lower()}.{n}@example.test"
        batch.append(
            Patient(
                organization=organization,
                mrn=f"BN-{n:06d}",
                given_name=given,
                family_name=family,
                date_of_birth=date(1930, 1, 1) + timedelta(days=rng.randrange(0, 33_000)),
                phone=phone,
                email=email,
                search_name=name_key(given, family),
                search_phone=phone_key(phone),
            )
        )
        if len(batch) == 5000:
            Patient.objects.bulk_create(batch)
            batch = []
    Patient.objects.bulk_create(batch)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
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

    call_command(
        "flush", interactive=False, verbosity=0
    ) if connection.vendor == "postgresql" else None
    call_command("migrate", verbosity=0)
    from caresync.accounts.selectors import actor_for
    from caresync.accounts.services import membership_create, organization_create, user_create
    from caresync.directory.models import Patient
    from caresync.directory.selectors import patient_list, patient_search

    rng = random.Random(7)  # noqa: S311 - benchmark data
    organization = organization_create(
        actor=None, name="Bench", slug="bench", time_zone="Australia/Sydney", country="AU"
    )
    user = user_create(email="frontdesk@bench.test", password=None)
    membership_create(user=user, organization=organization, role="staff")
    started = time.perf_counter()
    populate(organization, args.patients, rng)
    load_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:  # as autovacuum / `PRAGMA optimize` would
        cursor.execute("ANALYZE directory_patient")
    actor = actor_for(user=user, organization=organization)
    samples = (
        list(Patient.objects.order_by("?")[: args.queries])
        if connection.vendor == "postgresql"
        else [
            Patient.objects.get(mrn=f"BN-{rng.randrange(1, args.patients):06d}")
            for _ in range(args.queries)
        ]
    )
    kinds = {
        "name_fragment": lambda p: p.family_name[:4].lower(),
        "given_and_family": lambda p: f"{p.given_name[:3]} {p.family_name[:3]}",
        "mrn": lambda p: p.mrn,
        "date_of_birth": lambda p: p.date_of_birth.isoformat(),
        "phone_suffix": lambda p: p.phone[-8:],
        "email_prefix": lambda p: p.email.split("@")[0] + "@",
    }
    results = []
    for kind, make_query in kinds.items():
        timings = []
        for patient in samples:
            query = make_query(patient)
            t0 = time.perf_counter()
            found = patient_search(patient_list(actor=actor), query)
            total = found.count()
            first_page = list(found[:25])
            timings.append((time.perf_counter() - t0) * 1000)
            assert total >= 1 and first_page, (kind, query)
        results.append(
            {
                "query": kind,
                "p50_ms": round(statistics.median(timings), 2),
                "p95_ms": round(percentile(timings, 0.95), 2),
            }
        )
    print(
        json.dumps(
            {
                "benchmark": "patient_search",
                "database": connection.vendor,
                "patients": args.patients,
                "queries_per_kind": args.queries,
                "load_seconds": round(load_seconds, 1),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

"""Transaction-scoped locks that serialize one kind of write across processes."""

from django.db import connection

# Keys of PostgreSQL advisory locks, one per kind of serialized write.
AUDIT_CHAIN = 7_201_911
OUTBOX_RELAY = 7_201_912


def transaction_lock(key: int) -> None:
    """Hold ``key`` until the current transaction ends (PostgreSQL advisory lock). SQLite
    needs none: its write transactions are serialized already (``BEGIN IMMEDIATE``)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])

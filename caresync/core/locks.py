"""Transaction-scoped locks that serialize one kind of write across processes."""

from django.db import connection

# Keys of PostgreSQL advisory locks, one per kind of serialized write.
AUDIT_CHAIN = 7_201_911
OUTBOX_RELAY = 7_201_912


def transaction_lock(key: int, *, then: str = ""):
    """Hold ``key`` until the current transaction ends (PostgreSQL advisory lock). SQLite
    needs none: its write transactions are serialized already (``BEGIN IMMEDIATE``).
    ``then``: a query of one value (or none) to read once the lock is held, in the same round
    trip; its value is returned."""
    postgresql = connection.vendor == "postgresql"
    if not (postgresql or then):
        return None
    with connection.cursor() as cursor:
        if postgresql:
            scalar = f", ({then})" if then else ""
            cursor.execute(f"SELECT pg_advisory_xact_lock(%s){scalar}", [key])
        else:
            cursor.execute(then)
        row = cursor.fetchone()
    return row[-1] if then and row else None

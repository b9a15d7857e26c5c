"""The audit trail is append-only and tamper-evident."""

import contextlib

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from caresync.core.audit import audit_chain_breaks, audit_record
from caresync.core.middleware import request_context
from caresync.core.models import AuditEvent, AuditImmutableError

pytestmark = pytest.mark.django_db


@contextlib.contextmanager
def triggers_bypassed():
    """What an attacker with direct database access would do to hide a change."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
            try:
                yield cursor
            finally:
                cursor.execute("SET session_replication_role = DEFAULT")
        else:
            cursor.execute("DROP TRIGGER core_auditevent_append_only")
            try:
                yield cursor
            finally:
                cursor.execute(
                    "CREATE TRIGGER core_auditevent_append_only BEFORE UPDATE ON "
                    "core_auditevent BEGIN SELECT RAISE(ABORT, 'append-only'); END;"
                )


def record_three(tenant):
    return [
        audit_record(
            actor=tenant.doctor,
            action="read",
            organization=tenant.organization,
            object_type="patient",
            object_id=n,
            patient_id=n,
        )
        for n in (1, 2, 3)
    ]


def test_events_carry_request_context_and_chain_to_the_previous(tenant_a):
    with request_context(request_id="req-12345678", ip="203.0.113.9", user_agent="pytest"):
        first = audit_record(
            actor=tenant_a.admin,
            action="export",
            organization=tenant_a.organization,
            reason="monthly audit",
        )
    second = audit_record(actor=None, action="login_failed", actor_label="x@example.test")
    assert (first.ip, first.user_agent, first.request_id) == (
        "203.0.113.9",
        "pytest",
        "req-12345678",
    )
    assert first.actor_label == tenant_a.admin.email
    assert second.prev_hash == first.hash
    assert list(audit_chain_breaks()) == []


def test_the_model_refuses_updates_and_deletes(tenant_a):
    event = record_three(tenant_a)[0]
    event.reason = "covering tracks"
    with pytest.raises(AuditImmutableError):
        event.save()
    with pytest.raises(AuditImmutableError):
        event.delete()
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.filter(pk=event.pk).update(reason="x")
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.all().delete()


def test_the_database_refuses_a_raw_update(tenant_a):
    event = record_three(tenant_a)[0]
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET reason = 'x' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).reason == ""


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_refuses_a_raw_delete(tenant_a):
    event = record_three(tenant_a)[0]
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_verify_passes_on_an_intact_chain(tenant_a, capsys):
    record_three(tenant_a)
    call_command("verify_audit_chain")
    assert "3 events verified" in capsys.readouterr().out


def test_verify_names_the_first_edited_row(tenant_a):
    events = record_three(tenant_a)
    with triggers_bypassed() as cursor:
        cursor.execute(
            "UPDATE core_auditevent SET patient_id = '999' WHERE id = %s", [events[1].pk]
        )
    with pytest.raises(CommandError, match=f"#{events[1].pk}: content does not match"):
        call_command("verify_audit_chain")


def test_verify_detects_a_deleted_row(tenant_a):
    events = record_three(tenant_a)
    with triggers_bypassed() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [events[1].pk])
    with pytest.raises(CommandError, match=f"#{events[2].pk}: previous-hash link broken"):
        call_command("verify_audit_chain")


def test_audit_rows_roll_back_with_the_change(tenant_a):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=tenant_a.doctor, action="update", object_type="patient")
        raise RuntimeError("the change failed")
    assert not AuditEvent.objects.exists()

"""Reminders: armed at booking, sent once per appointment and offset, re-armed by a move,
cancelled with the appointment; whole days keep the wall-clock time across DST."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction

from caresync.notifications.fanout import quiet_until
from caresync.notifications.models import (
    ContactPreference,
    Notification,
    Reminder,
    ReminderSchedule,
)
from caresync.notifications.reminders import reminders_send_due
from caresync.scheduling.services import appointment_reschedule, appointment_transition
from caresync.scheduling.tests.conftest import NOW, SYDNEY, book

pytestmark = pytest.mark.django_db

# Sydney's daylight saving ends on Sunday 5 April 2026 (03:00 AEDT → 02:00 AEST).
AFTER_DST = datetime(2026, 4, 7, 9, 0, tzinfo=SYDNEY)  # Tuesday after Easter, AEST (UTC+10)


def reminders(appointment):
    return {r.offset_minutes: r for r in Reminder.objects.filter(appointment=appointment)}


def sent_reminders():
    return Notification.objects.filter(event_kind="appointment.reminder")


@pytest.fixture
def three_days_and_two_hours(reachable):
    ReminderSchedule.objects.create(
        organization=reachable.tenant.organization, offsets_minutes=[4320, 120]
    )
    return reachable


def test_booking_arms_the_default_reminders(reachable):
    appointment = book(reachable, datetime(2026, 3, 3, 10, tzinfo=SYDNEY))
    armed = reminders(appointment)
    assert set(armed) == {1440, 120}
    assert armed[1440].due_at == datetime(2026, 3, 2, 10, tzinfo=SYDNEY)
    assert armed[120].due_at == datetime(2026, 3, 3, 8, tzinfo=SYDNEY)


def test_whole_days_keep_the_wall_clock_across_the_dst_change(three_days_and_two_hours):
    appointment = book(three_days_and_two_hours, AFTER_DST)
    armed = reminders(appointment)
    # Saturday 9:00 local (still AEDT, UTC+11): not 72 elapsed hours (which is 10:00).
    assert armed[4320].due_at == datetime(2026, 4, 4, 9, 0, tzinfo=SYDNEY)
    assert armed[4320].due_at.astimezone(UTC) == datetime(2026, 4, 3, 22, 0, tzinfo=UTC)
    # Two hours is two elapsed hours.
    assert armed[120].due_at == AFTER_DST - timedelta(hours=2)
    with time_machine.travel(datetime(2026, 4, 4, 8, 59, tzinfo=SYDNEY), tick=False):
        assert reminders_send_due() == 0
    with time_machine.travel(datetime(2026, 4, 4, 9, 0, 30, tzinfo=SYDNEY), tick=False):
        assert reminders_send_due() == 1
        assert reminders_send_due() == 0
    email = sent_reminders().get(channel="email")
    assert email.subject == "Reminder: your appointment in 3 days"
    assert "Tue 7 Apr 2026, 9:00 am AEST" in email.body


def test_each_reminder_is_sent_once_on_every_channel(reachable):
    appointment = book(reachable, datetime(2026, 3, 3, 10, tzinfo=SYDNEY))
    with time_machine.travel(datetime(2026, 3, 2, 10, 1, tzinfo=SYDNEY), tick=False):
        assert reminders_send_due() == 1
        assert reminders_send_due() == 0
    assert {n.channel for n in sent_reminders()} == {"email", "sms", "in_app"}
    sms = sent_reminders().get(channel="sms")
    assert sms.body.startswith("Reminder: Ada, your appointment is Tue 3 Mar 2026, 10:00 am")
    assert "Reply C to confirm or X to cancel" in sms.body
    with time_machine.travel(datetime(2026, 3, 3, 8, 5, tzinfo=SYDNEY), tick=False):
        assert reminders_send_due() == 1
    assert reminders(appointment)[120].status == "sent"
    assert sent_reminders().filter(channel="email").count() == 2


def test_the_database_refuses_a_second_reminder_for_the_same_offset(reachable):
    appointment = book(reachable, datetime(2026, 3, 3, 10, tzinfo=SYDNEY))
    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(
            appointment=appointment,
            offset_minutes=1440,
            due_at=appointment.start,
            armed_for=appointment.start,
        )


def test_moving_the_appointment_re_arms_its_reminders(reachable):
    appointment = book(reachable, datetime(2026, 3, 3, 10, tzinfo=SYDNEY))
    with time_machine.travel(datetime(2026, 3, 2, 10, 1, tzinfo=SYDNEY), tick=False):
        reminders_send_due()
        appointment_reschedule(
            actor=None,
            appointment=appointment,
            start=datetime(2026, 3, 5, 11, tzinfo=SYDNEY),
            now=datetime(2026, 3, 2, 10, 2, tzinfo=SYDNEY),
        )
    armed = reminders(appointment)
    assert armed[1440].status == "pending"
    assert armed[1440].due_at == datetime(2026, 3, 4, 11, tzinfo=SYDNEY)
    with time_machine.travel(datetime(2026, 3, 4, 11, 1, tzinfo=SYDNEY), tick=False):
        assert reminders_send_due() == 1
    latest = sent_reminders().filter(channel="email").order_by("-id").first()
    assert "Thu 5 Mar 2026, 11:00 am AEDT" in latest.body


def test_cancelling_cancels_pending_reminders(reachable):
    appointment = book(reachable, datetime(2026, 3, 3, 10, tzinfo=SYDNEY))
    appointment_transition(
        actor=None, appointment=appointment, action="cancel", reason="Ill", now=NOW
    )
    assert {r.status for r in reminders(appointment).values()} == {"cancelled"}
    with time_machine.travel(datetime(2026, 3, 3, 9, tzinfo=SYDNEY), tick=False):
        assert reminders_send_due() == 0
    assert not sent_reminders().exists()


def test_after_an_outage_only_the_nearest_overdue_reminder_goes_out(reachable):
    appointment = book(reachable, datetime(2026, 3, 3, 10, tzinfo=SYDNEY))
    with time_machine.travel(datetime(2026, 3, 3, 8, 30, tzinfo=SYDNEY), tick=False):
        assert reminders_send_due() == 1
    armed = reminders(appointment)
    assert (armed[1440].status, armed[120].status) == ("skipped", "sent")
    assert sent_reminders().get(channel="email").subject == "Reminder: your appointment in 2 hours"


def test_a_reminder_already_past_when_booked_is_skipped(reachable):
    with time_machine.travel(datetime(2026, 3, 2, 20, tzinfo=SYDNEY), tick=False):
        appointment = book(reachable, datetime(2026, 3, 3, 10, tzinfo=SYDNEY))
    armed = reminders(appointment)
    assert (armed[1440].status, armed[120].status) == ("skipped", "pending")


def test_service_schedule_overrides_the_organization_default(reachable):
    ReminderSchedule.objects.create(
        organization=reachable.tenant.organization, offsets_minutes=[2880]
    )
    ReminderSchedule.objects.create(
        organization=reachable.tenant.organization, service=reachable.mri, offsets_minutes=[60]
    )
    consult = book(reachable, datetime(2026, 3, 4, 10, tzinfo=SYDNEY))
    assert set(reminders(consult)) == {2880}


def test_texts_wait_for_the_end_of_quiet_hours(reachable):
    ContactPreference.objects.create(
        patient=reachable.patient, quiet_start=time(21), quiet_end=time(8)
    )
    night = datetime(2026, 3, 2, 22, 30, tzinfo=SYDNEY)
    with time_machine.travel(night, tick=False):
        book(reachable, datetime(2026, 3, 4, 10, tzinfo=SYDNEY))
    sms = Notification.objects.get(channel="sms", event_kind="appointment.booked")
    email = Notification.objects.get(channel="email", event_kind="appointment.booked")
    assert sms.next_attempt_at == datetime(2026, 3, 3, 8, tzinfo=SYDNEY)
    assert email.next_attempt_at == night


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ((2026, 4, 4, 23, 0), (2026, 4, 5, 7, 0)),  # the night of the DST change
        ((2026, 4, 5, 6, 0), (2026, 4, 5, 7, 0)),
        ((2026, 4, 5, 7, 0), None),
        ((2026, 4, 5, 20, 59), None),
    ],
)
def test_quiet_hours_end_at_the_local_wall_time_across_dst(local, expected):
    preference = ContactPreference(quiet_start=time(21), quiet_end=time(7))
    now = datetime(*local, tzinfo=SYDNEY).astimezone(UTC)
    until = quiet_until(preference, "Australia/Sydney", now)
    if expected is None:
        assert until is None
    else:
        assert until == datetime(*expected, tzinfo=SYDNEY)

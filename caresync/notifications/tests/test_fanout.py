"""Fan-out: the outbox relay writes an event's notifications once per event, channel and
recipient, rendered from the organization's template or the default."""

import pytest
from django.db import transaction

from caresync.notifications.fanout import notifications_fan_out
from caresync.notifications.models import (
    ContactPreference,
    Notification,
    NotificationSettings,
    NotificationTemplate,
    SmsOptOut,
)
from caresync.scheduling.services import appointment_transition
from caresync.scheduling.tests.conftest import NOW, at, book

pytestmark = pytest.mark.django_db


def channels_of(appointment, kind):
    return {
        (n.channel, n.recipient_key): n
        for n in Notification.objects.filter(
            event_kind=kind, outbox_event__payload__appointment=appointment.pk
        )
    }


def test_booking_tells_the_patient_on_every_channel_they_can_be_reached(reachable):
    appointment = book(reachable, at(10))
    sent = channels_of(appointment, "appointment.booked")
    key = f"patient:{reachable.patient.pk}"
    assert set(sent) >= {("email", key), ("sms", key), ("in_app", key)}
    email = sent[("email", key)]
    assert email.to_address == "ada@example.test"
    assert email.subject == "Your appointment on Monday 2 March 2026 is booked"
    assert "Mon 2 Mar 2026, 10:00 am AEDT" in email.body
    assert "Consult" in email.body
    assert "<p>Hello Ada," in email.html
    sms = sent[("sms", key)]
    assert sms.to_address == "+61412345678"
    assert "10:00 am AEDT" in sms.body
    assert all(n.status == "queued" for n in sent.values())


def test_sms_names_no_service_unless_the_organization_allows_it(reachable):
    first = book(reachable, at(10))
    sms = Notification.objects.get(channel="sms", outbox_event__payload__appointment=first.pk)
    assert "Consult" not in sms.body
    NotificationSettings.objects.create(
        organization=reachable.tenant.organization, sms_include_service=True
    )
    second = book(reachable, at(11))
    sms = Notification.objects.get(channel="sms", outbox_event__payload__appointment=second.pk)
    assert "Consult appointment" in sms.body


def test_a_rolled_back_booking_leaves_no_notifications(reachable):
    with pytest.raises(RuntimeError), transaction.atomic():
        book(reachable, at(10))
        assert Notification.objects.exists()
        raise RuntimeError("the request failed after booking")
    assert not Notification.objects.exists()


def test_practitioner_hears_in_app_about_a_request_but_not_about_their_own_action(reachable):
    doctor = reachable.tenant.doctor
    appointment = book(reachable, at(10), request_only=True)
    assert Notification.objects.filter(
        recipient_user=doctor, channel="in_app", event_kind="appointment.requested"
    ).exists()
    appointment_transition(actor=doctor, appointment=appointment, action="approve", now=NOW)
    approved = Notification.objects.filter(event_kind="appointment.approved")
    assert {n.recipient_user_id for n in approved} == {reachable.tenant.patient.pk}
    assert not Notification.objects.filter(recipient_user=doctor, event_kind="appointment.approved")


def test_patient_gets_no_in_app_message_about_their_own_cancellation_but_an_email(reachable):
    appointment = book(reachable, at(10))
    appointment_transition(
        actor=reachable.tenant.patient,
        appointment=appointment,
        action="cancel",
        by_patient=True,
        now=NOW,
    )
    cancelled = Notification.objects.filter(event_kind="appointment.cancelled")
    assert {n.channel for n in cancelled if n.recipient_key.startswith("patient:")} == {
        "email",
        "sms",
    }
    assert cancelled.filter(recipient_user=reachable.tenant.doctor, channel="in_app").exists()


def test_preferences_and_opt_out_choose_the_channels(reachable):
    ContactPreference.objects.create(patient=reachable.patient, email=False, sms=True)
    SmsOptOut.objects.create(phone="+61412345678", opted_out_at=NOW)
    appointment = book(reachable, at(10))
    sent = Notification.objects.filter(outbox_event__payload__appointment=appointment.pk)
    assert {n.channel for n in sent if n.recipient_key.startswith("patient:")} == {"in_app"}


def test_an_event_fans_out_once_even_if_processed_again(reachable):
    appointment = book(reachable, at(10))
    event = (
        Notification.objects.filter(outbox_event__payload__appointment=appointment.pk)
        .first()
        .outbox_event
    )
    before = Notification.objects.count()
    notifications_fan_out(event, now=NOW)
    assert Notification.objects.count() == before


def test_the_organizations_template_replaces_the_default(reachable):
    NotificationTemplate.objects.create(
        organization=reachable.tenant.organization,
        event_kind="appointment.booked",
        channel="email",
        subject="Booked with {{ practitioner.name }}",
        body="See you {{ appointment.when }}, {{ patient.first_name|upper }}.",
    )
    appointment = book(reachable, at(10))
    email = Notification.objects.get(
        channel="email", outbox_event__payload__appointment=appointment.pk
    )
    assert email.subject == f"Booked with {reachable.doctor}"
    assert email.body == "See you Mon 2 Mar 2026, 10:00 am AEDT, ADA."
    # Another organization's patients still get the default wording.
    assert NotificationTemplate.objects.filter(organization__isnull=True).count() == 0


def test_a_broken_saved_template_falls_back_to_the_default_and_booking_succeeds(reachable):
    NotificationTemplate.objects.create(
        organization=reachable.tenant.organization,
        event_kind="appointment.booked",
        channel="email",
        subject="x",
        body="{% load static %}{% debug %}",
    )
    appointment = book(reachable, at(10))
    email = Notification.objects.get(
        channel="email", outbox_event__payload__appointment=appointment.pk
    )
    assert email.subject == "Your appointment on Monday 2 March 2026 is booked"


def test_past_appointments_notify_nobody(reachable):
    from caresync.notifications.outbox import domain_event_record

    appointment = book(reachable, at(10))
    Notification.objects.all().delete()
    event = domain_event_record(
        kind="appointment.cancelled",
        subject=appointment,
        organization=appointment.organization,
        payload={"appointment": appointment.pk},
    )
    assert notifications_fan_out(event, now=at(12, day=1)) == []


def test_a_move_tells_the_patient_the_old_and_new_time(reachable):
    from caresync.scheduling.services import appointment_reschedule

    appointment = book(reachable, at(10))
    appointment_reschedule(
        actor=reachable.tenant.staff, appointment=appointment, start=at(14), now=NOW
    )
    email = Notification.objects.get(event_kind="appointment.rescheduled", channel="email")
    assert email.subject == "Your appointment has moved to Monday 2 March 2026"
    assert "moved from Mon 2 Mar 2026, 10:00 am AEDT" in email.body
    assert "When: Mon 2 Mar 2026, 2:00 pm AEDT" in email.body
    assert Notification.objects.filter(
        event_kind="appointment.rescheduled", recipient_user=reachable.tenant.doctor
    ).exists()


def test_a_recurring_series_is_announced_once_and_reminded_per_visit(reachable):
    from caresync.notifications.models import Reminder
    from caresync.scheduling.services import appointment_series_book

    series = appointment_series_book(
        actor=reachable.tenant.staff,
        organization=reachable.tenant.organization,
        patient=reachable.patient,
        practitioner=reachable.doctor,
        service=reachable.consult,
        first_start=at(10),
        rrule="FREQ=WEEKLY;COUNT=4",
        now=NOW,
    )
    booked = Notification.objects.filter(event_kind="appointment.booked", channel="email")
    assert booked.count() == 1
    assert "Mon 2 Mar 2026, 10:00 am" in booked.get().body
    assert series.appointments.count() == 4
    assert Reminder.objects.filter(offset_minutes=1440, status="pending").count() == 4


def test_a_waitlist_offer_sends_the_claim_link(reachable):
    from caresync.scheduling.services import waitlist_join, waitlist_offer_freed_slot

    waitlist_join(
        actor=None,
        organization=reachable.tenant.organization,
        patient=reachable.patient,
        service=reachable.consult,
    )
    (offer,) = waitlist_offer_freed_slot(
        practitioner_id=reachable.doctor.pk, start=at(10), end=at(10, 30), now=NOW
    )
    sent = {n.channel: n for n in Notification.objects.filter(event_kind="waitlist.offered")}
    assert set(sent) == {"email", "sms", "in_app"}
    assert "/waitlist/offers/" in sent["sms"].body
    assert sent["email"].subject == "A time is free: Mon 2 Mar 2026, 10:00 am AEDT"
    assert sent["in_app"].link.startswith("/waitlist/offers/")


def test_a_released_report_tells_the_patient_it_is_ready_and_nothing_more(reachable):
    from caresync.notifications.outbox import domain_event_record

    domain_event_record(
        kind="report.ready",
        subject=reachable.patient,
        organization=reachable.tenant.organization,
        actor=reachable.tenant.nurse,
        payload={
            "report": 7,
            "patient": reachable.patient.pk,
            "referring_doctor": reachable.doctor.pk,
            "version": 1,
        },
    )
    sent = {
        (n.channel, n.recipient_key): n
        for n in Notification.objects.filter(event_kind="report.ready")
    }
    key = f"patient:{reachable.patient.pk}"
    assert set(sent) == {
        ("email", key),
        ("sms", key),
        ("in_app", key),
        ("in_app", f"user:{reachable.tenant.doctor.pk}"),
    }
    assert (
        sent[("sms", key)].body == "Hi Ada, a report is ready for you in CareSync. – Alpha Clinic"
    )
    assert sent[("email", key)].subject == "Your report is ready"
    doctor_note = sent[("in_app", f"user:{reachable.tenant.doctor.pk}")]
    assert doctor_note.body == "The report for Ada Lovelace is released to the patient."

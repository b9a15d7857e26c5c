"""Two-way SMS: replies confirm or cancel the next appointment, STOP/START opt out and in,
anything else waits in the staff inbox."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from caresync.notifications.models import InboundMessage, Notification, SmsOptOut
from caresync.notifications.sms_inbound import inbound_message_reply, sms_inbound_receive
from caresync.scheduling.models import Appointment
from caresync.scheduling.tests.conftest import NOW, at, book

pytestmark = pytest.mark.django_db
PHONE = "+61412345678"


def reply(body, sid="SM1", now=NOW):
    return sms_inbound_receive(
        from_number=PHONE, to_number="+61400000000", body=body, provider_message_id=sid, now=now
    )


@pytest.mark.parametrize("word", ["C", "y", "Yes", " YES. "])
def test_yes_confirms_the_next_appointment_and_says_so(reachable, word):
    later = book(reachable, at(11, day=1))
    sooner = book(reachable, at(10))
    message = reply(word)
    sooner.refresh_from_db()
    later.refresh_from_db()
    assert sooner.status == "confirmed" and later.status == "scheduled"
    assert message.action == "confirmed" and message.patient == reachable.patient
    assert message.reply.to_address == PHONE
    assert "is confirmed" in message.reply.body
    # The practitioner hears about the confirmation in-app, as from any interface.
    assert Notification.objects.filter(
        event_kind="appointment.confirmed", recipient_user=reachable.tenant.doctor
    ).exists()


def test_x_cancels_outside_the_cancellation_window(reachable):
    appointment = book(reachable, at(10))
    message = reply("X")
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert message.action == "cancelled" and "is cancelled" in message.reply.body


def test_cancel_inside_the_window_is_refused_and_the_patient_told_to_call(reachable):
    appointment = book(reachable, at(10))
    message = reply("CANCEL", now=appointment.start - timedelta(hours=3))
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"
    assert message.action == "refused"
    assert "Please call us on 02 9000 0000" in message.reply.body


def test_stop_opts_the_number_out_and_cancels_queued_texts_and_start_opts_back_in(reachable):
    book(reachable, at(10))
    queued_sms = Notification.objects.get(channel="sms")
    assert reply("STOP").action == "opted_out"
    assert SmsOptOut.objects.filter(phone=PHONE).exists()
    queued_sms.refresh_from_db()
    assert queued_sms.status == "cancelled"
    book(reachable, at(11))
    assert Notification.objects.filter(channel="sms").count() == 1  # no new text
    assert reply("start", sid="SM2").action == "opted_in"
    book(reachable, at(12))
    assert Notification.objects.filter(channel="sms").count() == 2


def test_anything_else_lands_in_the_staff_inbox_tied_to_the_patient(reachable):
    book(reachable, at(10))
    message = reply("Can I bring my daughter?")
    assert message.action == "inbox" and message.handled_at is None
    assert message.patient == reachable.patient
    assert message.organization == reachable.tenant.organization
    answer = inbound_message_reply(
        actor=reachable.tenant.staff, message=message, body="Of course, see you Monday."
    )
    message.refresh_from_db()
    assert message.handled_by == reachable.tenant.staff and message.reply == answer
    assert answer.channel == "sms" and answer.to_address == PHONE


def test_the_same_inbound_message_twice_acts_once(reachable):
    appointment = book(reachable, at(10))
    reply("X")
    reply("X")
    assert InboundMessage.objects.count() == 1
    assert Appointment.objects.get(pk=appointment.pk).status == "cancelled"
    assert Notification.objects.filter(event_kind="sms.reply").count() == 1


def test_a_text_from_an_unknown_number_is_kept_for_staff(reachable):
    message = sms_inbound_receive(
        from_number="+61499999999", to_number="", body="C", provider_message_id="SM9"
    )
    assert message.patient is None and message.action == "inbox"


def test_inbound_webhook_answers_twiml(reachable, twilio, settings):
    from caresync.integrations.twilio.signature import signature_for

    settings.SITE_URL = "http://testserver"
    book(reachable, at(10))
    params = {"MessageSid": "SM77", "From": PHONE, "To": "+61400000000", "Body": "Y"}
    url = "http://testserver" + reverse("twilio-inbound")
    response = Client().post(
        reverse("twilio-inbound"),
        params,
        HTTP_X_TWILIO_SIGNATURE=signature_for(url, params, twilio.auth_token),
    )
    assert response.status_code == 200 and response["Content-Type"] == "text/xml"
    assert b"<Response>" in response.content
    assert InboundMessage.objects.get().action == "confirmed"

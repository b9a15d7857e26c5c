"""Pages: template editor with preview, communications dashboard, text inbox, a patient's
Correspondence tab, patients' contact preferences."""

import pytest
from django.urls import reverse

from caresync.core.models import AuditEvent
from caresync.notifications.models import (
    ContactPreference,
    InboundMessage,
    Notification,
    NotificationTemplate,
    ReminderSchedule,
)
from caresync.notifications.sms_inbound import sms_inbound_receive
from caresync.scheduling.tests.conftest import at, book

pytestmark = pytest.mark.django_db

EDIT = "notification-template"


def test_admin_previews_then_saves_a_template_used_by_the_next_booking(reachable, client):
    client.force_login(reachable.tenant.admin)
    url = reverse(EDIT, args=["appointment.booked", "sms"])
    page = client.get(url)
    assert page.status_code == 200 and "Default wording" in page.content.decode()
    body = "{{ patient.first_name }}: see you {{ appointment.when }}. {{ organization.name }}"
    preview = client.post(url, {"body": body, "intent": "preview"}).content.decode()
    assert "Alex: see you Tue 3 Mar 2026, 10:30 am AEDT. Alpha Clinic" in preview
    assert "characters, 1 segment (GSM-7)" in preview
    assert not NotificationTemplate.objects.exists()  # a preview saves nothing
    assert client.post(url, {"body": body, "intent": "save"}).status_code == 302
    book(reachable, at(10))
    sms = Notification.objects.get(channel="sms")
    assert sms.body == "Ada: see you Mon 2 Mar 2026, 10:00 am AEDT. Alpha Clinic"
    client.post(url, {"intent": "reset"})
    assert not NotificationTemplate.objects.exists()


def test_a_template_outside_the_sandbox_is_refused_with_the_reason(reachable, client):
    client.force_login(reachable.tenant.admin)
    url = reverse(EDIT, args=["appointment.booked", "email"])
    answer = client.post(
        url, {"subject": "Hi", "body": "{{ patient.medical_history }}", "intent": "save"}
    )
    assert answer.status_code == 200
    assert "Unknown variable “patient.medical_history”" in answer.content.decode()
    assert not NotificationTemplate.objects.exists()


def test_practitioner_message_templates_are_editable_too(reachable, client):
    client.force_login(reachable.tenant.admin)
    url = reverse(EDIT, args=["appointment.requested/practitioner", "in_app"])
    assert client.get(url).status_code == 200
    assert client.get(reverse(EDIT, args=["nothing", "sms"])).status_code == 404


def test_only_admins_edit_templates(reachable, client):
    for user in (reachable.tenant.staff, reachable.tenant.doctor, reachable.tenant.patient):
        client.force_login(user)
        assert client.get(reverse("notification-settings")).status_code == 403


def test_settings_save_reminder_times_and_sms_detail(reachable, client):
    client.force_login(reachable.tenant.admin)
    answer = client.post(
        reverse("notification-settings"), {"reminders": "48, 3", "sms_include_service": "on"}
    )
    assert answer.status_code == 302
    schedule = ReminderSchedule.objects.get(organization=reachable.tenant.organization)
    assert schedule.offsets_minutes == [2880, 180]
    refused = client.post(reverse("notification-settings"), {"reminders": "soon"})
    assert refused.status_code == 200 and "Write hours as numbers" in refused.content.decode()


def test_a_service_gets_its_own_reminder_times_or_none(reachable, client):
    client.force_login(reachable.tenant.admin)
    mri, consult = reachable.mri, reachable.consult
    client.post(
        reverse("notification-settings"),
        {"reminders": "24", f"service_{mri.pk}": "72, 1", f"service_{consult.pk}": "none"},
    )
    schedules = {
        s.service_id: s.offsets_minutes
        for s in ReminderSchedule.objects.filter(organization=reachable.tenant.organization)
    }
    assert schedules == {None: [1440], mri.pk: [4320, 60], consult.pk: []}
    appointment = book(reachable, at(10, day=2))
    assert not appointment.reminders.exists()  # the consult: no reminders
    page = client.get(reverse("notification-settings")).content.decode()
    assert 'value="72, 1"' in page
    client.post(reverse("notification-settings"), {"reminders": "24", f"service_{mri.pk}": ""})
    assert not ReminderSchedule.objects.filter(service=mri).exists()


def test_communications_dashboard_lists_filters_and_audits(reachable, client):
    book(reachable, at(10))
    client.force_login(reachable.tenant.staff)
    page = client.get(reverse("communications"), {"channel": "sms"}).content.decode()
    assert "+61412345678" in page and "ada@example.test" not in page
    assert AuditEvent.objects.filter(
        actor=reachable.tenant.staff, action="read", patient_id=str(reachable.patient.pk)
    ).exists()
    found = client.get(reverse("communications"), {"q": "ada@example"}).content.decode()
    assert "Your appointment on Monday 2 March 2026 is booked" in found
    client.force_login(reachable.tenant.patient)
    assert client.get(reverse("communications")).status_code == 403


def test_other_organizations_messages_stay_out(reachable, tenant_b, client):
    book(reachable, at(10))
    client.force_login(tenant_b.staff)
    page = client.get(reverse("communications")).content.decode()
    assert "No messages" in page


def test_staff_answer_a_text_from_the_inbox(reachable, client):
    book(reachable, at(10))
    message = sms_inbound_receive(
        from_number="+61412345678",
        to_number="",
        body="Running 10 min late",
        provider_message_id="SM5",
    )
    client.force_login(reachable.tenant.staff)
    page = client.get(reverse("sms-inbox")).content.decode()
    assert "Running 10 min late" in page and "Ada Lovelace" in page
    client.post(reverse("sms-inbox-reply", args=[message.pk]), {"body": "No problem, thanks."})
    message.refresh_from_db()
    assert message.handled_by == reachable.tenant.staff
    assert message.reply.body == "No problem, thanks." and message.reply.channel == "sms"
    assert "Running 10 min late" not in client.get(reverse("sms-inbox")).content.decode()


def test_foreign_staff_cannot_answer_a_text(reachable, tenant_b, client):
    book(reachable, at(10))
    message = sms_inbound_receive(
        from_number="+61412345678", to_number="", body="Hello?", provider_message_id="SM6"
    )
    client.force_login(tenant_b.staff)
    assert (
        client.post(reverse("sms-inbox-reply", args=[message.pk]), {"body": "x"}).status_code == 404
    )
    assert InboundMessage.objects.get().handled_at is None


def test_the_correspondence_tab_shows_both_directions_with_status(reachable, client):
    book(reachable, at(10))
    sms_inbound_receive(
        from_number="+61412345678", to_number="", body="Is parking free?", provider_message_id="SM7"
    )
    client.force_login(reachable.tenant.staff)
    url = reverse("patient-detail", args=[reachable.patient.pk])
    page = client.get(url, {"tab": "correspondence"}).content.decode()
    assert "Is parking free?" in page and "SMS received" in page
    assert "Your appointment on Monday 2 March 2026 is booked" in page
    assert "Queued" in page
    only_email = client.get(url, {"tab": "correspondence", "channel": "email"}).content.decode()
    assert "Is parking free?" not in only_email


def test_patients_set_channels_and_quiet_hours(reachable, client):
    client.force_login(reachable.tenant.patient)
    page = client.get(reverse("contact-preferences"))
    assert page.status_code == 200
    answer = client.post(
        reverse("contact-preferences"),
        {"email": "on", "in_app": "on", "quiet_start": "21:00", "quiet_end": "07:30"},
    )
    assert answer.status_code == 302
    saved = ContactPreference.objects.get(patient=reachable.patient)
    assert (saved.email, saved.sms, saved.in_app) == (True, False, True)
    assert saved.quiet_end.hour == 7
    book(reachable, at(10))
    assert not Notification.objects.filter(channel="sms").exists()
    half = client.post(reverse("contact-preferences"), {"email": "on", "quiet_start": "21:00"})
    assert half.status_code == 200 and "Set both times, or neither." in half.content.decode()
    client.force_login(reachable.tenant.staff)
    assert client.get(reverse("contact-preferences")).status_code == 403


def test_front_desk_records_a_patients_contact_preferences(reachable, client, tenant_b):
    url = reverse("patient-contact-preferences", args=[reachable.patient.pk])
    client.force_login(reachable.tenant.staff)
    detail = reverse("patient-detail", args=[reachable.patient.pk])
    tab = client.get(detail, {"tab": "correspondence"})
    assert url in tab.content.decode()  # the tab links to the form
    page = client.get(url)
    assert page.status_code == 200
    assert "How should we reach Ada" in page.content.decode()
    half = client.post(url, {"email": "on", "quiet_start": "21:00"})
    assert half.status_code == 200 and "Set both times, or neither." in half.content.decode()
    assert not ContactPreference.objects.exists()  # a refused form changes nothing
    answer = client.post(url, {"sms": "on", "quiet_start": "21:00", "quiet_end": "07:00"})
    assert answer.status_code == 302 and answer["Location"].endswith("?tab=correspondence")
    saved = ContactPreference.objects.get(patient=reachable.patient)
    assert (saved.email, saved.sms, saved.in_app) == (False, True, False)
    change = AuditEvent.objects.get(object_type="notifications.contactpreference")
    assert change.actor == reachable.tenant.staff and change.patient_id == str(reachable.patient.pk)
    # Patients use their own page; other organizations do not see the patient.
    client.force_login(reachable.tenant.patient)
    assert client.get(url).status_code == 403
    client.force_login(tenant_b.staff)
    assert client.get(url).status_code == 404
    assert client.post(url, {"email": "on"}).status_code == 404
    assert ContactPreference.objects.get(patient=reachable.patient).sms is True


def test_staff_send_a_failed_message_again(reachable, client, monkeypatch):
    from caresync.integrations.transports import TransportError
    from caresync.notifications import delivery
    from caresync.notifications.delivery import notification_deliver

    class Refusing:
        name = "email"

        def send(self, message):
            raise TransportError("550 No such user", permanent=True)

    book(reachable, at(10))
    email = Notification.objects.get(channel="email")
    monkeypatch.setattr(delivery, "transport_for", lambda channel: Refusing())
    assert notification_deliver(notification_id=email.pk) == "failed"
    monkeypatch.undo()
    client.force_login(reachable.tenant.staff)
    page = client.get(reverse("communications"), {"status": "failed"}).content.decode()
    assert "550 No such user" in page and "Send again" in page
    answer = client.post(
        reverse("communication-retry", args=[email.pk]), {"next": "https://evil.test/"}
    )
    assert answer.status_code == 302 and answer["Location"] == reverse("communications")
    email.refresh_from_db()
    assert email.status == "queued" and email.attempts == 0
    assert notification_deliver(notification_id=email.pk) == "sent"
    assert [a.ok for a in email.delivery_attempts.all()] == [False, True]
    again = client.post(reverse("communication-retry", args=[email.pk]))
    assert again.status_code == 302  # nothing to retry: explained, nothing changes
    email.refresh_from_db()
    assert email.status == "sent"
    client.force_login(reachable.tenant.patient)
    assert client.post(reverse("communication-retry", args=[email.pk])).status_code == 403

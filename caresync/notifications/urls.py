from django.urls import path

from caresync.notifications.views import communications, inbox, settings, webhooks

urlpatterns = [
    path("notifications/", inbox.notification_list, name="notification-inbox"),
    path("notifications/<int:pk>/read/", inbox.notification_read, name="notification-inbox-read"),
    path(
        "notifications/read-all/", inbox.notification_read_all, name="notification-inbox-read-all"
    ),
    path("notifications/sms-outbox/", inbox.sms_outbox, name="sms-outbox"),
    path(
        "notifications/preferences/",
        communications.contact_preferences,
        name="contact-preferences",
    ),
    path(
        "patients/<int:pk>/contact-preferences/",
        communications.patient_contact_preferences,
        name="patient-contact-preferences",
    ),
    path("communications/", communications.communications, name="communications"),
    path(
        "communications/<int:pk>/retry/",
        communications.communication_retry,
        name="communication-retry",
    ),
    path("communications/texts/", communications.sms_inbox, name="sms-inbox"),
    path(
        "communications/texts/<int:pk>/reply/",
        communications.sms_inbox_reply,
        name="sms-inbox-reply",
    ),
    path("settings/notifications/", settings.notification_settings, name="notification-settings"),
    path(
        "settings/notifications/<path:key>/<str:channel>/",
        settings.notification_template_edit,
        name="notification-template",
    ),
    path("webhooks/twilio/status/", webhooks.twilio_status, name="twilio-status"),
    path("webhooks/twilio/inbound/", webhooks.twilio_inbound, name="twilio-inbound"),
]

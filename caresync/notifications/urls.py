from django.urls import path

from caresync.notifications.views import inbox, webhooks

urlpatterns = [
    path("notifications/", inbox.notification_list, name="notification-inbox"),
    path("notifications/<int:pk>/read/", inbox.notification_read, name="notification-inbox-read"),
    path(
        "notifications/read-all/", inbox.notification_read_all, name="notification-inbox-read-all"
    ),
    path("notifications/sms-outbox/", inbox.sms_outbox, name="sms-outbox"),
    path("webhooks/twilio/status/", webhooks.twilio_status, name="twilio-status"),
    path("webhooks/twilio/inbound/", webhooks.twilio_inbound, name="twilio-inbound"),
]

from django.urls import path

from caresync.notifications import views

urlpatterns = [
    path("notifications/", views.notification_list, name="notification-inbox"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification-inbox-read"),
    path(
        "notifications/read-all/", views.notification_read_all, name="notification-inbox-read-all"
    ),
    path("notifications/sms-outbox/", views.sms_outbox, name="sms-outbox"),
    path("webhooks/twilio/status/", views.twilio_status, name="twilio-status"),
    path("webhooks/twilio/inbound/", views.twilio_inbound, name="twilio-inbound"),
]

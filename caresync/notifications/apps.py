from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "caresync.notifications"
    label = "notifications"
    verbose_name = "Notifications"

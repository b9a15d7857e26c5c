from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "caresync.core"
    label = "core"
    verbose_name = "Core"

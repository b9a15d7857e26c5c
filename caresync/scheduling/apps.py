from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "caresync.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling"

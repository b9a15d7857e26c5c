from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "caresync.records"
    label = "records"
    verbose_name = "Clinical records"

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "caresync.web"
    label = "web"
    verbose_name = "Web shell"

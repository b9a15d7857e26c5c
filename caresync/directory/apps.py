from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "caresync.directory"
    label = "directory"
    verbose_name = "Directory"

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "caresync.accounts"
    label = "accounts"
    verbose_name = "Accounts and organizations"

    def ready(self) -> None:
        from caresync.accounts import receivers  # noqa: F401 - connects the audit receivers

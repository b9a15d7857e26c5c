from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "caresync.accounts"
    label = "accounts"
    verbose_name = "Accounts and organizations"

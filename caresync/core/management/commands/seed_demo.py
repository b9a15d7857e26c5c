from importlib import import_module

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

# Each capability contributes a ``seed(log)`` function; they run in this order.
DEMO_SEEDERS = [
    "caresync.accounts.demo",
    "caresync.directory.demo",
    "caresync.scheduling.demo",
    "caresync.records.demo",
    "caresync.notifications.demo",
]


class Command(BaseCommand):
    help = "Load the demo organizations, people and data (idempotent). Refused in production."

    def add_arguments(self, parser):
        parser.add_argument(
            "--quiet-logins", action="store_true", help="Do not print the demo logins."
        )

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("Demo data is refused when DJANGO_ENV=production.")
        logins: list[tuple[str, str]] = []
        with transaction.atomic():
            for module_path in DEMO_SEEDERS:
                logins.extend(import_module(module_path).seed(self._log) or [])
        if options["quiet_logins"]:
            return
        self.stdout.write(self.style.SUCCESS(f"\nDemo logins (password: {settings.DEMO_PASSWORD})"))
        width = max(len(login) for login, _ in logins)
        for login, description in logins:
            self.stdout.write(f"  {login.ljust(width)}  {description}")
        self.stdout.write("")

    def _log(self, message: str) -> None:
        self.stdout.write(f"  · {message}")

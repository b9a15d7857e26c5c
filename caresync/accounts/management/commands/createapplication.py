from django.core.management.base import CommandError
from oauth2_provider.management.commands import createapplication

from caresync.accounts.models import Organization


class Command(createapplication.Command):
    help = (
        "Register an OAuth2 client. Client-credentials integrations need --organization, the "
        "tenant they act in."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--organization", type=str, help="Slug of the organization an integration acts in."
        )

    def handle(self, *args, **options):
        slug = options.get("organization")
        if slug:
            organization = Organization.objects.filter(slug=slug).first()
            if organization is None:
                raise CommandError(f"No organization with slug {slug!r}.")
            options["organization"] = organization
        elif options.get("authorization_grant_type") == "client-credentials":
            raise CommandError("Client-credentials integrations need --organization.")
        super().handle(*args, **options)

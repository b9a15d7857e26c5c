from django.core.management.base import BaseCommand

from caresync.core.policy import ROLES, RULES, USER

HEADER = """# Access control

Generated from `caresync/core/policy.py` by
`python manage.py access_matrix > docs/access-control.md`; a test fails when this file and
the policy differ, and another walks every API endpoint for every role, in its own and in a
foreign organization.

- **Roles**: `platform_admin` (global), `org_admin`, `practitioner` (doctor, nurse,
  radiologist, therapist, other), `staff`, `patient`, and `integration` (an OAuth
  client-credentials client bound to one organization). "any signed-in user" covers every
  person, with or without a membership.
- **Tenancy**: lists only contain the acting organization's rows (selectors scope them);
  an object of another organization answers **404**, whatever the role.
- **Scopes**: an OAuth token must also carry a SMART-style scope covering the resource and
  access, e.g. `user/*.read`, `patient/Patient.read`, `system/*.read`; web sessions are not
  limited by scopes.
- **Object rules**: every object rule first requires the object to belong to the actor's
  organization (platform admins: any); the column says what else it checks.

"""


class Command(BaseCommand):
    help = "Print the role × action matrix (Markdown) from the policy layer."

    def handle(self, *args, **options):
        columns = [USER, *ROLES]
        labels = {USER: "any signed-in user"}
        lines = [HEADER.rstrip("\n"), ""]
        lines.append(
            "| permission | what | scope | "
            + " | ".join(labels.get(c, c) for c in columns)
            + " | object rule |"
        )
        lines.append("|" + "---|" * (len(columns) + 4))
        for name, rule in RULES.items():
            cells = ["✓" if c in rule.roles else "—" for c in columns]
            check = " ".join((rule.check.__doc__ or "").split()) if rule.check else ""
            lines.append(
                f"| `{name}` | {rule.description} | {rule.resource}.{rule.access} | "
                + " | ".join(cells)
                + f" | {check} |"
            )
        self.stdout.write("\n".join(lines) + "\n")

"""Authorization: the one module that decides whether an actor may do something.

Every view, API endpoint, consumer and task asks ``can``/``authorize`` with a permission
name from ``RULES``. A rule names the roles allowed, the SMART-style scope a token needs
(``<context>/<Resource>.<read|write>``), and optionally a relationship check on the object.
Tenant scoping of lists happens in selectors; objects of another organization answer 404.
``docs/access-control.md`` is generated from ``RULES`` (``manage.py access_matrix``).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from caresync.core.errors import ApplicationError

# Roles. ``user`` is every signed-in person; ``integration`` is a client-credentials client.
PLATFORM_ADMIN = "platform_admin"
ORG_ADMIN = "org_admin"
PRACTITIONER = "practitioner"
STAFF = "staff"
PATIENT = "patient"
USER = "user"
INTEGRATION = "integration"
ROLES = (PLATFORM_ADMIN, ORG_ADMIN, PRACTITIONER, STAFF, PATIENT, INTEGRATION)
ADMINS = frozenset({PLATFORM_ADMIN, ORG_ADMIN})
CLINIC = ADMINS | {PRACTITIONER, STAFF}
MEMBERS = CLINIC | {PATIENT}

SCOPE_RESOURCES = (
    "*",
    "User",
    "Organization",
    "PractitionerRole",
    "Patient",
    "Practitioner",
    "CareTeam",
    "HealthcareService",
    "Location",
    "Device",
    "AuditEvent",
    "Schedule",
    "Slot",
    "Appointment",
    "Composition",
    "DocumentReference",
    "DiagnosticReport",
    "CodeSystem",
)
SCOPE_CONTEXTS = ("patient", "user", "system")
SCOPE_ACCESS = ("read", "write", "*")
INTROSPECTION_SCOPE = "introspection"


def all_scopes() -> dict[str, str]:
    """Every SMART-style scope a client may request, with a description."""
    acting = {
        "patient": "as the patient, own data only",
        "user": "as the signed-in user",
        "system": "as the integration, in its organization",
    }
    verbs = {"read": "Read", "write": "Write", "*": "Read and write"}
    scopes = {}
    for context in SCOPE_CONTEXTS:
        for resource in SCOPE_RESOURCES:
            for access in SCOPE_ACCESS:
                what = "all resources" if resource == "*" else f"{resource} resources"
                scopes[f"{context}/{resource}.{access}"] = (
                    f"{verbs[access]} {what} ({acting[context]})"
                )
    scopes[INTROSPECTION_SCOPE] = "Check whether access tokens are active (resource servers)"
    return scopes


@dataclass(frozen=True)
class Actor:
    """Who is acting, in which organization, with which roles and token scopes."""

    user: object | None
    organization: object | None
    roles: frozenset[str]
    practitioner_kind: str = ""
    scopes: frozenset[str] | None = None  # None: a web session, not limited by scopes

    @property
    def is_platform_admin(self) -> bool:
        return PLATFORM_ADMIN in self.roles

    @property
    def label(self) -> str:
        return getattr(self.user, "email", "") or "integration"


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    resource: str
    access: str  # "read" or "write"
    description: str
    check: Callable[[Actor, object], bool] | None = field(default=None, compare=False)


def _same_organization(actor: Actor, obj) -> bool:
    """Same organization."""
    if actor.is_platform_admin:
        return True
    organization_id = getattr(obj, "organization_id", None)
    if organization_id is None and obj.__class__.__name__ == "Organization":
        organization_id = obj.pk
    return actor.organization is not None and organization_id == actor.organization.pk


def _own_schedule(actor: Actor, obj) -> bool:
    """Admins: any practitioner of their organization; practitioners: their own. ``obj`` is
    a practitioner or something with a ``practitioner``."""
    if not _same_organization(actor, obj):
        return False
    if actor.roles & ADMINS:
        return True
    practitioner = getattr(obj, "practitioner", obj)
    return actor.user is not None and practitioner.user_id == actor.user.pk


def _clinical_read(actor: Actor, obj) -> bool:
    """Clinical content (``obj``: a patient, record, note or attachment): org admins all;
    practitioners with a care relationship or break-glass; staff with an access grant;
    patients their own released records."""
    if not _same_organization(actor, obj):
        return False
    from caresync.records.access import clinical_read_allowed

    return clinical_read_allowed(actor, obj)


def _clinical_care(actor: Actor, obj) -> bool:
    """Practitioners with a care relationship with the patient (or break-glass)."""
    if not _same_organization(actor, obj):
        return False
    from caresync.records.access import clinical_care_allowed

    return clinical_care_allowed(actor, obj)


def _clinical_author(actor: Actor, obj) -> bool:
    """Only the practitioner who wrote it (or uploaded it)."""
    if not _same_organization(actor, obj):
        return False
    from caresync.records.access import clinical_author

    return clinical_author(actor, obj)


def _clinical_author_or_admin(actor: Actor, obj) -> bool:
    """The author, or an admin of the organization."""
    if not _same_organization(actor, obj):
        return False
    from caresync.records.access import clinical_author

    return ORG_ADMIN in actor.roles or clinical_author(actor, obj)


def _radiology_read(actor: Actor, obj) -> bool:
    """A radiology report: the clinical read rule (referrer, author and reviewer included;
    patients their own released reports) and any radiologist of the organization."""
    if not _same_organization(actor, obj):
        return False
    from caresync.records.access import radiology_read_allowed

    return radiology_read_allowed(actor, obj)


def _radiology_reporter(actor: Actor, obj) -> bool:
    """The report's radiologist; before it is taken, a radiologist or the scan's
    practitioner."""
    if not _same_organization(actor, obj):
        return False
    from caresync.records.access import radiology_reporter_allowed

    return radiology_reporter_allowed(actor, obj)


def _radiology_attacher(actor: Actor, obj) -> bool:
    """The report's radiologist (before it is taken, as for writing it), or an admin of
    the organization."""
    if not _same_organization(actor, obj):
        return False
    from caresync.records.access import radiology_reporter_allowed

    return ORG_ADMIN in actor.roles or radiology_reporter_allowed(actor, obj)


def _radiology_reviewer(actor: Actor, obj) -> bool:
    """A radiologist of the organization, or a practitioner in the patient's care (never
    the report's author)."""
    if not _same_organization(actor, obj):
        return False
    from caresync.records.access import radiology_reviewer_allowed

    return radiology_reviewer_allowed(actor, obj)


CLINICAL_READERS = frozenset({ORG_ADMIN, PRACTITIONER, STAFF, PATIENT})
CLINICAL_AUTHORS = frozenset({PRACTITIONER})

RULES: dict[str, Rule] = {
    "profile.view": Rule(frozenset({USER}), "User", "read", "See own profile and roles"),
    "profile.update": Rule(frozenset({USER}), "User", "write", "Edit own profile"),
    "organization.list": Rule(
        frozenset({USER, PLATFORM_ADMIN, INTEGRATION}),
        "Organization",
        "read",
        "List organizations (own memberships; all for platform admins)",
    ),
    "organization.view": Rule(
        frozenset({USER, PLATFORM_ADMIN, INTEGRATION}),
        "Organization",
        "read",
        "See the profile of an organization one belongs to",
    ),
    "organization.create": Rule(
        frozenset({PLATFORM_ADMIN}),
        "Organization",
        "write",
        "Create an organization and its first admin",
    ),
    "organization.update": Rule(
        ADMINS, "Organization", "write", "Edit organization settings", _same_organization
    ),
    "member.list": Rule(ADMINS, "PractitionerRole", "read", "List an organization's members"),
    "member.view": Rule(ADMINS, "PractitionerRole", "read", "See a membership", _same_organization),
    "member.invite": Rule(
        ADMINS, "PractitionerRole", "write", "Invite practitioners, staff and patients"
    ),
    "member.deactivate": Rule(
        ADMINS,
        "PractitionerRole",
        "write",
        "Deactivate a member (history stays)",
        _same_organization,
    ),
    "audit.list": Rule(ADMINS, "AuditEvent", "read", "Read and filter the audit trail"),
    "audit.export": Rule(ADMINS, "AuditEvent", "read", "Export the audit trail as CSV"),
    # Directory. Patients see only their own record (selectors scope the rows).
    "patient.list": Rule(
        CLINIC | {PATIENT, INTEGRATION},
        "Patient",
        "read",
        "Search and list patients (patients: only themselves)",
    ),
    "patient.directory": Rule(
        CLINIC, "Patient", "read", "Use the patient directory pages (clinic members)"
    ),
    "patient.view": Rule(
        CLINIC | {PATIENT, INTEGRATION},
        "Patient",
        "read",
        "Open a patient's record (demographics)",
        _same_organization,
    ),
    "patient.create": Rule(CLINIC | {INTEGRATION}, "Patient", "write", "Register a patient"),
    "patient.update": Rule(
        CLINIC, "Patient", "write", "Edit a patient's details", _same_organization
    ),
    "patient.deactivate": Rule(
        ADMINS, "Patient", "write", "Deactivate a patient (nothing is deleted)", _same_organization
    ),
    "patient.import": Rule(ADMINS | {STAFF}, "Patient", "write", "Import patients from CSV"),
    "patient.export": Rule(ADMINS, "Patient", "read", "Export patients as CSV"),
    "care_team.view": Rule(
        CLINIC | {PATIENT}, "CareTeam", "read", "See a patient's care team", _same_organization
    ),
    "care_team.manage": Rule(
        ADMINS | {STAFF}, "CareTeam", "write", "Assign and end care-team roles", _same_organization
    ),
    "practitioner.list": Rule(
        MEMBERS | {INTEGRATION}, "Practitioner", "read", "List practitioners"
    ),
    "practitioner.view": Rule(
        MEMBERS | {INTEGRATION},
        "Practitioner",
        "read",
        "See a practitioner's profile",
        _same_organization,
    ),
    "practitioner.manage": Rule(
        ADMINS,
        "Practitioner",
        "write",
        "Add, edit and deactivate practitioners",
        _same_organization,
    ),
    "service.list": Rule(
        MEMBERS | {INTEGRATION}, "HealthcareService", "read", "List services (appointment types)"
    ),
    "service.manage": Rule(
        ADMINS, "HealthcareService", "write", "Create and edit services", _same_organization
    ),
    "location.list": Rule(MEMBERS | {INTEGRATION}, "Location", "read", "List locations"),
    "location.manage": Rule(
        ADMINS, "Location", "write", "Create and edit locations", _same_organization
    ),
    "resource.list": Rule(
        CLINIC | {INTEGRATION}, "Device", "read", "List rooms, scanners and equipment"
    ),
    "resource.manage": Rule(
        ADMINS, "Device", "write", "Create and edit resources", _same_organization
    ),
    # Scheduling. Patients see and book only for themselves (selectors scope the rows).
    "slot.search": Rule(MEMBERS | {INTEGRATION}, "Slot", "read", "Search bookable slots"),
    "appointment.list": Rule(
        MEMBERS | {INTEGRATION},
        "Appointment",
        "read",
        "List and open appointments (patients: their own)",
    ),
    "appointment.book": Rule(
        CLINIC | {PATIENT, INTEGRATION},
        "Appointment",
        "write",
        "Book an appointment (patients: for themselves)",
    ),
    "appointment.confirm": Rule(
        CLINIC | {PATIENT},
        "Appointment",
        "write",
        "Confirm, accept or decline a proposed time",
        _same_organization,
    ),
    "appointment.cancel": Rule(
        CLINIC | {PATIENT},
        "Appointment",
        "write",
        "Cancel (patients: outside the cancellation window)",
        _same_organization,
    ),
    "appointment.manage": Rule(
        CLINIC,
        "Appointment",
        "write",
        "Approve, reject, check in, start, complete, mark no-show",
        _same_organization,
    ),
    "appointment.reschedule": Rule(
        CLINIC | {PATIENT},
        "Appointment",
        "write",
        "Move an appointment to another time (patients: outside the cancellation window)",
        _same_organization,
    ),
    "appointment.analytics": Rule(
        CLINIC,
        "Appointment",
        "read",
        "Appointment counts by status, no-show rate and utilization",
    ),
    "availability.view": Rule(
        MEMBERS | {INTEGRATION},
        "Schedule",
        "read",
        "See practitioners' weekly working hours, time off and closures",
    ),
    "availability.manage": Rule(
        ADMINS | {PRACTITIONER},
        "Schedule",
        "write",
        "Edit working hours and time off (practitioners: their own)",
        _own_schedule,
    ),
    "closure.manage": Rule(
        ADMINS, "Schedule", "write", "Add and remove organization closure days", _same_organization
    ),
    "calendar_feed.manage": Rule(
        ADMINS | {PRACTITIONER},
        "Schedule",
        "write",
        "Create or revoke a practitioner's secret calendar feed (practitioners: their own)",
        _own_schedule,
    ),
    "waitlist.list": Rule(
        CLINIC | {PATIENT},
        "Appointment",
        "read",
        "See the waitlist (patients: their own entries)",
    ),
    "waitlist.join": Rule(
        CLINIC | {PATIENT},
        "Appointment",
        "write",
        "Put a patient on the waitlist (patients: themselves)",
        _same_organization,
    ),
    "waitlist.manage": Rule(
        CLINIC,
        "Appointment",
        "write",
        "Remove waitlist entries and offer freed slots",
        _same_organization,
    ),
    "webhook_log.list": Rule(ADMINS, "AuditEvent", "read", "Read the intake webhook log"),
    # Notifications: one's own in-app messages; patient correspondence for the clinic.
    "notification.list": Rule(
        frozenset({USER}), "User", "read", "See one's own in-app notifications"
    ),
    "notification.read": Rule(
        frozenset({USER}), "User", "write", "Mark one's own in-app notifications read"
    ),
    "correspondence.list": Rule(
        CLINIC - {PLATFORM_ADMIN},
        "Patient",
        "read",
        "See messages to and from patients (correspondence, staff SMS inbox)",
    ),
    "correspondence.reply": Rule(
        CLINIC - {PLATFORM_ADMIN},
        "Patient",
        "write",
        "Answer a patient's text message from the staff inbox",
        _same_organization,
    ),
    "notification_template.manage": Rule(
        ADMINS,
        "Organization",
        "write",
        "Edit notification templates, reminder times and the development SMS outbox",
    ),
    "break_glass.open": Rule(
        frozenset({PRACTITIONER}),
        "Patient",
        "read",
        "Open a patient's chart without a care relationship, stating a reason",
    ),
    "break_glass.review": Rule(
        ADMINS, "AuditEvent", "read", "Review break-glass accesses for the organization"
    ),
    # Clinical records. Platform admins run installations, not care: no clinical content.
    "record.view": Rule(
        CLINICAL_READERS,
        "Composition",
        "read",
        "Read medical records and their versions (care relationship; staff with a grant; "
        "patients their own released records)",
        _clinical_read,
    ),
    "record.create": Rule(
        CLINICAL_AUTHORS,
        "Composition",
        "write",
        "Write a medical record for a patient in one's care",
        _clinical_care,
    ),
    "record.update": Rule(
        CLINICAL_AUTHORS,
        "Composition",
        "write",
        "Edit, sign or amend one's own medical record (a new version each time)",
        _clinical_author,
    ),
    "record.retract": Rule(
        ADMINS - {PLATFORM_ADMIN} | CLINICAL_AUTHORS,
        "Composition",
        "write",
        "Retract a medical record as entered in error, with a reason (author or org admin)",
        _clinical_author_or_admin,
    ),
    "note.view": Rule(
        CLINICAL_READERS - {PATIENT},
        "Composition",
        "read",
        "Read the clinical notes timeline and note versions (care relationship; staff with "
        "a grant)",
        _clinical_read,
    ),
    "note.create": Rule(
        CLINICAL_AUTHORS,
        "Composition",
        "write",
        "Write a clinical note for a patient in one's care",
        _clinical_care,
    ),
    "note.update": Rule(
        CLINICAL_AUTHORS,
        "Composition",
        "write",
        "Edit, sign or amend one's own note (a new version each time)",
        _clinical_author,
    ),
    "note.pin": Rule(
        CLINICAL_AUTHORS,
        "Composition",
        "write",
        "Pin or unpin a note on the timeline of a patient in one's care",
        _clinical_care,
    ),
    "note.retract": Rule(
        ADMINS - {PLATFORM_ADMIN} | CLINICAL_AUTHORS,
        "Composition",
        "write",
        "Retract a note as entered in error, with a reason (author or org admin)",
        _clinical_author_or_admin,
    ),
    "attachment.view": Rule(
        CLINICAL_READERS,
        "DocumentReference",
        "read",
        "List and download clinical attachments (audited; patients: those of their released "
        "records)",
        _clinical_read,
    ),
    "attachment.upload": Rule(
        CLINICAL_AUTHORS,
        "DocumentReference",
        "write",
        "Upload a file to the chart of a patient in one's care",
        _clinical_care,
    ),
    "attachment.retract": Rule(
        ADMINS - {PLATFORM_ADMIN} | CLINICAL_AUTHORS,
        "DocumentReference",
        "write",
        "Retract an attachment as entered in error (uploader or org admin)",
        _clinical_author_or_admin,
    ),
    "radiology.view": Rule(
        CLINICAL_READERS,
        "DiagnosticReport",
        "read",
        "Read radiology reports and their PDFs (audited, every view and download logged; "
        "radiologists and the referrer; patients their own released reports)",
        _radiology_read,
    ),
    "radiology.report": Rule(
        CLINICAL_AUTHORS,
        "DiagnosticReport",
        "write",
        "Open, start, write, complete and amend a radiology report (its radiologist)",
        _radiology_reporter,
    ),
    "radiology.attach": Rule(
        ADMINS - {PLATFORM_ADMIN} | CLINICAL_AUTHORS,
        "DiagnosticReport",
        "write",
        "Add images and files to a radiology report while it is being written (its "
        "radiologist or an org admin)",
        _radiology_attacher,
    ),
    "radiology.review": Rule(
        CLINICAL_AUTHORS,
        "DiagnosticReport",
        "write",
        "Review a completed radiology report (another radiologist, never the author)",
        _radiology_reviewer,
    ),
    "icd10.search": Rule(
        CLINIC - {PLATFORM_ADMIN},
        "CodeSystem",
        "read",
        "Search the ICD-10 code list",
    ),
    "note_template.manage": Rule(
        frozenset({ORG_ADMIN}),
        "Organization",
        "write",
        "List, write and deactivate the note templates offered per service",
        _same_organization,
    ),
    "clinical_access.manage": Rule(
        frozenset({ORG_ADMIN}),
        "PractitionerRole",
        "write",
        "Grant and revoke a staff member's time-limited read access to clinical content",
        _same_organization,
    ),
}


def scope_allows(actor: Actor, resource: str, access: str) -> bool:
    """True when one of the actor's token scopes covers ``resource`` for ``access``."""
    if actor.scopes is None:
        return True
    allowed_contexts = (
        {"system"}
        if actor.user is None
        else ({"patient", "user"} if PATIENT in actor.roles else {"user"})
    )
    for scope in actor.scopes:
        context, _, rest = scope.partition("/")
        scope_resource, _, scope_access = rest.partition(".")
        if (
            context in allowed_contexts
            and scope_resource in ("*", resource)
            and scope_access in ("*", access)
        ):
            return True
    return False


def can(actor: Actor, permission: str, obj=None) -> bool:
    """Whether ``actor`` may exercise ``permission`` (on ``obj`` when given)."""
    rule = RULES[permission]
    if not actor.roles & rule.roles:
        return False
    if not scope_allows(actor, rule.resource, rule.access):
        return False
    return obj is None or rule.check is None or rule.check(actor, obj)


def authorize(actor: Actor, permission: str, obj=None) -> None:
    """Raise a 403 ``permission_denied`` (audited) unless ``can`` allows it."""
    if can(actor, permission, obj):
        return
    from caresync.core.audit import audit_record

    audit_record(
        actor=actor.user,
        action="permission_denied",
        organization=actor.organization,
        obj=obj,
        object_type="" if obj is not None else permission,
        details={"permission": permission, "roles": sorted(actor.roles)},
        actor_label=actor.label,
    )
    raise ApplicationError(
        "You do not have permission to perform this action.",
        code="permission_denied",
        status_code=403,
    )

"""Reads for the signed-in user's organizations and roles."""

from django.db.models import Count, Q, QuerySet
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from caresync.accounts.models import Membership, Organization, User
from caresync.core import policy
from caresync.core.errors import ApplicationError
from caresync.core.policy import Actor
from caresync.core.querytemplates import ID, Param, QueryTemplate

SESSION_ORGANIZATION_KEY = "active_organization_id"


# Every request reads them (the API's actor, the pages' organization switcher).
_MEMBERSHIPS = QueryTemplate(
    lambda: (
        Membership.objects.filter(
            user_id=Param("user", ID), is_active=True, organization__is_active=True
        )
        .select_related("organization")
        .order_by("organization__name", "role")
    )
)


def memberships_for_user(*, user: User) -> list[Membership]:
    """The user's active memberships in active organizations, by organization name."""
    return _MEMBERSHIPS.instances(user=user.pk)


def membership_active(*, user: User, session) -> Membership | None:
    """The membership the web UI acts as: the one chosen in the session, else the first."""
    if not user.is_authenticated:
        return None
    memberships = memberships_for_user(user=user)
    chosen = session.get(SESSION_ORGANIZATION_KEY)
    for membership in memberships:
        if membership.pk == chosen:
            return membership
    return memberships[0] if memberships else None


def organization_overview(*, organization: Organization) -> dict[str, int]:
    """Active member counts by role for an organization's dashboard."""
    counts = {role: 0 for role in Membership.Role.values}
    rows = (
        Membership.objects.filter(organization=organization, is_active=True)
        .values("role")
        .annotate(total=Count("id"))
    )
    counts.update({row["role"]: row["total"] for row in rows})
    return counts


def organizations_for_platform(*, user: User) -> QuerySet[Organization]:
    """Every organization, for platform admins; none for anyone else."""
    if not user.is_platform_admin:
        return Organization.objects.none()
    return Organization.objects.order_by("name")


def actor_for(
    *,
    user: User,
    organization: Organization | None,
    scopes: frozenset[str] | None = None,
    memberships: list[Membership] | None = None,
) -> Actor:
    """The policy actor for a person acting in ``organization`` (None: no organization).
    ``memberships``: the user's (``memberships_for_user``) when the caller has them."""
    roles = {policy.USER}
    kind = ""
    if user.is_platform_admin:
        roles.add(policy.PLATFORM_ADMIN)
    if organization is not None:
        if memberships is None:
            memberships = Membership.objects.filter(
                user=user, organization=organization, is_active=True
            )
        for membership in memberships:
            if membership.organization_id == organization.pk:
                roles.add(membership.role)
                kind = membership.practitioner_kind or kind
    return Actor(
        user=user,
        organization=organization,
        roles=frozenset(roles),
        practitioner_kind=kind,
        scopes=scopes,
    )


def organization_for_api(
    *, user: User, slug: str | None, session=None, memberships: list[Membership] | None = None
) -> Organization | None:
    """The organization an API call acts in: the ``X-Organization`` header, else the web
    session's active one, else the user's only organization. Unknown or foreign → 404.
    ``memberships``: the user's (``memberships_for_user``) when the caller has them."""
    if memberships is None:
        memberships = memberships_for_user(user=user)
    if slug:
        organization = Organization.objects.filter(slug=slug, is_active=True).first()
        if organization is None or not (
            user.is_platform_admin or any(m.organization_id == organization.pk for m in memberships)
        ):
            raise ApplicationError(
                "Organization not found.", code="organization_not_found", status_code=404
            )
        return organization
    chosen = session.get(SESSION_ORGANIZATION_KEY) if session is not None else None
    if chosen and memberships:
        active = next((m for m in memberships if m.pk == chosen), memberships[0])
        return active.organization
    organizations = {m.organization for m in memberships}
    return organizations.pop() if len(organizations) == 1 else None


def require_organization(actor: Actor) -> Organization:
    """The actor's organization, or a 400 asking the client to state one."""
    if actor.organization is None:
        raise ApplicationError(
            "State the organization with the X-Organization header (its slug).",
            code="organization_required",
            status_code=400,
        )
    return actor.organization


def organizations_visible(*, actor: Actor) -> QuerySet[Organization]:
    """Platform admins see every organization; others the ones they belong to."""
    if actor.is_platform_admin:
        return Organization.objects.order_by("name")
    if actor.user is None:
        return Organization.objects.filter(pk=getattr(actor.organization, "pk", None))
    return (
        Organization.objects.filter(
            memberships__user=actor.user, memberships__is_active=True, is_active=True
        )
        .distinct()
        .order_by("name")
    )


def member_list(
    *, actor: Actor, search: str = "", role: str = "", active: bool | None = None
) -> QuerySet[Membership]:
    """Memberships of the actor's organization; ``search`` matches every word against the
    name or email."""
    organization = require_organization(actor)
    memberships = Membership.objects.filter(organization=organization)
    for word in search.split():
        memberships = memberships.filter(
            Q(user__first_name__icontains=word)
            | Q(user__last_name__icontains=word)
            | Q(user__email__icontains=word)
        )
    if role:
        memberships = memberships.filter(role=role)
    if active is not None:
        memberships = memberships.filter(is_active=active)
    return memberships.select_related("user", "organization").order_by(
        "user__last_name", "user__email"
    )


def user_for_link(uidb64: str) -> User | None:
    """The active user an emailed set-password link names, if any."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        return None
    return User.objects.filter(pk=pk, is_active=True).first()

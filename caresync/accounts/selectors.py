"""Reads for the signed-in user's organizations and roles."""

from django.db.models import Count, QuerySet

from caresync.accounts.models import Membership, Organization, User

SESSION_ORGANIZATION_KEY = "active_organization_id"


def memberships_for_user(*, user: User) -> QuerySet[Membership]:
    """The user's active memberships in active organizations."""
    return (
        Membership.objects.filter(user=user, is_active=True, organization__is_active=True)
        .select_related("organization")
        .order_by("organization__name", "role")
    )


def membership_active(*, user: User, session) -> Membership | None:
    """The membership the web UI acts as: the one chosen in the session, else the first."""
    if not user.is_authenticated:
        return None
    memberships = list(memberships_for_user(user=user))
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

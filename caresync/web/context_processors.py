from caresync.accounts.selectors import membership_active, memberships_for_user
from caresync.web.navigation import nav_for_roles


def dashboard_role(user, membership) -> str:
    """The landing role: the active membership's, or platform admin with no membership."""
    if membership is not None:
        return membership.role
    if user.is_platform_admin:
        return "platform_admin"
    return "none"


def shell(request) -> dict:
    """Layout data for every page: the active organization, the switcher and the sidebar."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    active = membership_active(user=user, session=request.session)
    role = dashboard_role(user, active)
    return {
        "active_membership": active,
        "memberships": memberships_for_user(user=user),
        "shell_role": role,
        "nav_items": nav_for_roles(
            {role, "platform_admin"} if user.is_platform_admin else {role}, request.path
        ),
    }

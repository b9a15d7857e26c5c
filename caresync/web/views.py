from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from caresync.accounts.permissions import web_actor
from caresync.accounts.selectors import (
    SESSION_ORGANIZATION_KEY,
    membership_active,
    memberships_for_user,
    organization_overview,
    organizations_for_platform,
)
from caresync.core.selectors import platform_health
from caresync.scheduling.views.common import dashboard_appointments
from caresync.web.context_processors import dashboard_role


@login_required
def dashboard(request):
    """Each role lands on its own dashboard."""
    membership = membership_active(user=request.user, session=request.session)
    role = dashboard_role(request.user, membership)
    context = {"membership": membership}
    if role == "org_admin":
        context["member_counts"] = organization_overview(organization=membership.organization)
    if role == "platform_admin":
        context["organizations"] = organizations_for_platform(user=request.user)
    if role in ("practitioner", "staff", "patient"):
        context.update(dashboard_appointments(actor=web_actor(request), role=role))
    return render(request, f"web/dashboards/{role}.html", context)


@login_required
@require_POST
def organization_switch(request):
    """Make another of the user's memberships the active one."""
    try:
        wanted = int(request.POST.get("membership", ""))
    except ValueError:
        wanted = None
    membership = next((m for m in memberships_for_user(user=request.user) if m.pk == wanted), None)
    if membership is None:
        messages.error(request, "That organization is not one of yours.")
    else:
        request.session[SESSION_ORGANIZATION_KEY] = membership.pk
        messages.success(
            request, f"Now working in {membership.organization.name} as {membership.role_label}."
        )
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "web:dashboard"
    return redirect(next_url)


@login_required
def system_status(request):
    """Platform admins see the health of every backing component."""
    if not request.user.is_platform_admin:
        raise PermissionDenied
    return render(request, "web/system.html", {"health": platform_health()})

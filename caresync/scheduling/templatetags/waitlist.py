"""``{% patient_waitlist %}``: a patient's own active waitlist entries, with their open
offers and a "Leave waitlist" button, on pages that are not the waitlist page itself."""

from django import template

from caresync.accounts.permissions import web_actor
from caresync.core import policy
from caresync.core.policy import can
from caresync.scheduling.views.common import organization_zone
from caresync.scheduling.views.waitlist import ACTIVE, _decorated
from caresync.scheduling.waitlist_selectors import waitlist_entry_list

register = template.Library()


@register.inclusion_tag("scheduling/partials/patient_waitlist.html", takes_context=True)
def patient_waitlist(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"entries": []}
    actor = web_actor(request)
    if (
        actor.organization is None
        or policy.PATIENT not in actor.roles
        or actor.roles & policy.CLINIC
        or not can(actor, "waitlist.list")
    ):
        return {"entries": []}
    entries = waitlist_entry_list(actor=actor).filter(status__in=ACTIVE)
    return {
        "entries": _decorated(entries, organization_zone(actor.organization), claim_links=True),
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "can_join": can(actor, "waitlist.join"),
    }

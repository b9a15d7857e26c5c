"""DRF glue to the policy layer: every API view declares ``policy`` per action or method."""

from oauth2_provider.models import AccessToken
from rest_framework.permissions import BasePermission

from caresync.accounts.selectors import (
    actor_for,
    membership_active,
    memberships_for_user,
    organization_for_api,
)
from caresync.core import policy
from caresync.core.policy import Actor, authorize

ORGANIZATION_HEADER = "X-Organization"


def request_actor(request) -> Actor:
    """The policy actor of an API request (cached on the request)."""
    cached = getattr(request, "_caresync_actor", None)
    if cached is not None:
        return cached
    token = request.auth if isinstance(request.auth, AccessToken) else None
    scopes = frozenset(token.scope.split()) if token is not None else None
    if token is not None and token.user_id is None:
        actor = Actor(
            user=None,
            organization=token.application.organization,
            roles=frozenset({policy.INTEGRATION}),
            scopes=scopes,
        )
    else:
        memberships = memberships_for_user(user=request.user)  # one query for both
        organization = organization_for_api(
            user=request.user,
            slug=request.headers.get(ORGANIZATION_HEADER),
            session=None if token is not None else request.session,
            memberships=memberships,
        )
        actor = actor_for(
            user=request.user, organization=organization, scopes=scopes, memberships=memberships
        )
    request._caresync_actor = actor
    return actor


def policy_for(view, method: str) -> str:
    """The permission name a view declares for this request; a view without one is refused."""
    declared = getattr(view, "policy", None) or {}
    action = getattr(view, "action", None)
    key_method = "GET" if method in ("HEAD", "OPTIONS") else method
    permission = declared.get(action) if action else None
    permission = permission or declared.get(key_method)
    if permission is None:
        raise LookupError(f"{type(view).__name__} declares no policy for {action or method}")
    return permission


def has_handler(view, method: str) -> bool:
    """Whether the view serves ``method`` at all (if not, DRF answers 405)."""
    if hasattr(view, "action_map"):
        return method.lower() in view.action_map or method in ("HEAD", "OPTIONS")
    return hasattr(view, method.lower())


def _is_signed_in(request) -> bool:
    return bool(request.user and request.user.is_authenticated) or isinstance(
        request.auth, AccessToken
    )


class PolicyPermission(BasePermission):
    """Allow a request only when the policy layer allows the view's declared permission."""

    def has_permission(self, request, view) -> bool:
        if not _is_signed_in(request):
            return False
        if not has_handler(view, request.method):
            return True
        authorize(request_actor(request), policy_for(view, request.method))
        return True

    def has_object_permission(self, request, view, obj) -> bool:
        authorize(request_actor(request), policy_for(view, request.method), obj)
        return True


class ActorScopedViewMixin:
    """``get_queryset`` through a selector that takes the actor (tenant scoping in one place);
    an empty queryset of ``scoped_model`` while the OpenAPI schema is generated."""

    scoped_model = None

    def scoped_queryset(self, actor: Actor):
        raise NotImplementedError

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.scoped_model.objects.none()
        return self.scoped_queryset(request_actor(self.request))


def web_actor(request) -> Actor:
    """The policy actor of a web page request: the user in their active organization."""
    cached = getattr(request, "_caresync_actor", None)
    if cached is None:
        membership = membership_active(user=request.user, session=request.session)
        cached = actor_for(
            user=request.user, organization=membership.organization if membership else None
        )
        request._caresync_actor = cached
    return cached

"""OAuth2 endpoints (django-oauth-toolkit); issued tokens are audited by a receiver.

They answer errors in RFC 6749 §5.2 form (``error``, ``error_description``), which OAuth
client libraries expect, and carry ``X-Request-ID`` like every other response.
"""

from axes.handlers.proxy import AxesProxyHandler
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as oauth_views

from caresync.accounts.lockout import lockout_response
from caresync.accounts.models import Application
from caresync.core.audit import audit_record


@method_decorator(csrf_exempt, name="dispatch")
class TokenView(oauth_views.TokenView):
    """POST /api/v1/auth/token/: password, client_credentials, authorization_code, refresh.

    A password grant for a locked-out account is answered with the lockout (429) before
    the credentials are even checked, exactly like the web sign-in page.
    """

    def post(self, request, *args, **kwargs):
        if request.POST.get("grant_type") == "password":
            credentials = {"username": request.POST.get("username", "")}
            if not AxesProxyHandler.is_allowed(request, credentials):
                return lockout_response(request, credentials=credentials)
        return super().post(request, *args, **kwargs)


@method_decorator(csrf_exempt, name="dispatch")
class RevokeTokenView(oauth_views.RevokeTokenView):
    """POST /api/v1/auth/revoke-token/ (RFC 7009)."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:
            client = Application.objects.filter(client_id=request.POST.get("client_id", "")).first()
            audit_record(
                actor=None,
                action="token_revoked",
                organization=getattr(client, "organization", None),
                obj=client,
                actor_label=f"client:{getattr(client, 'client_id', '?')}",
            )
        return response


class IntrospectTokenView(oauth_views.IntrospectTokenView):
    """GET/POST /api/v1/auth/introspect/ (RFC 7662), for resource servers."""


class AuthorizationView(oauth_views.AuthorizationView):
    """GET/POST /api/v1/auth/authorize/: the consent page of the authorization-code flow."""

"""OAuth2 glue for django-oauth-toolkit: SMART-style scopes and tenant-bound integrations."""

import hashlib

from django.db.models import CharField
from oauth2_provider.models import AccessToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes

from caresync.accounts.models import Application
from caresync.accounts.two_factor import two_factor_enabled, two_factor_match, two_factor_required
from caresync.core.policy import INTROSPECTION_SCOPE, all_scopes
from caresync.core.querytemplates import Param, QueryTemplate

SYSTEM_DEFAULT_SCOPES = ["system/*.read"]
USER_DEFAULT_SCOPES = ["user/*.read"]


def _is_integration(application) -> bool:
    return (
        application is not None
        and application.authorization_grant_type == Application.GRANT_CLIENT_CREDENTIALS
    )


class SmartScopes(BaseScopes):
    """``system/…`` scopes for client-credentials integrations; ``user/`` and ``patient/``
    scopes for tokens that act for a person."""

    def get_all_scopes(self):
        return all_scopes()

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        if _is_integration(application):
            return [s for s in all_scopes() if s.startswith("system/") or s == INTROSPECTION_SCOPE]
        return [s for s in all_scopes() if s.startswith(("user/", "patient/"))]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return SYSTEM_DEFAULT_SCOPES if _is_integration(application) else USER_DEFAULT_SCOPES


# Every API request reads its bearer token: the query is built once (see querytemplates).
_ACCESS_TOKEN = QueryTemplate(
    lambda: (
        AccessToken.objects.select_related("application", "user")
        .filter(token_checksum=Param("checksum", CharField()))
        .order_by("pk")[:1]
    )
)


class CareSyncOAuth2Validator(OAuth2Validator):
    def _load_access_token(self, token):
        """As django-oauth-toolkit's (the token by its SHA-256 checksum, with its
        application and user), from a query template."""
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        found = _ACCESS_TOKEN.instances(checksum=checksum)
        return found[0] if found else None

    def validate_user(self, username, password, client, request, *args, **kwargs):
        """Password grant: users with two-factor also send ``otp`` (a current code); staff
        of an organization that requires two-factor must have enrolled first."""
        if not super().validate_user(username, password, client, request, *args, **kwargs):
            return False
        user = request.user
        if two_factor_enabled(user):
            return two_factor_match(user, getattr(request, "otp", None) or "") is not None
        return not two_factor_required(user)

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        """Integrations must belong to an organization: their data access is tenant-bound."""
        if grant_type == "client_credentials" and client.organization_id is None:
            return False
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)

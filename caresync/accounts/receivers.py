"""Audit sign-ins, sign-outs, failures and issued OAuth tokens (Django and toolkit signals)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from oauth2_provider.signals import app_authorized

from caresync.core.audit import audit_record


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs):
    audit_record(actor=user, action="login", details={"via": "web"})


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_record(actor=user, action="logout")


@receiver(user_login_failed)
def audit_login_failed(sender, credentials, request=None, **kwargs):
    path = getattr(request, "path", "") or ""
    audit_record(
        actor=None,
        action="login_failed",
        actor_label=str(credentials.get("username", ""))[:254],
        details={"via": "oauth_password_grant" if "/auth/token" in path else "web"},
    )


@receiver(app_authorized)
def audit_token_issued(sender, request, token, **kwargs):
    application = token.application
    audit_record(
        actor=token.user,
        action="token_issued",
        organization=application.organization,
        obj=application,
        actor_label="" if token.user_id else f"client:{application.client_id}",
        details={"grant_type": getattr(request, "grant_type", ""), "scope": token.scope},
    )

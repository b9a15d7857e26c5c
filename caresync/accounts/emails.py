"""Account emails (invitation, welcome, password reset) carrying a set-password link."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from caresync.notifications.outbox import email_message_queue

PURPOSES = {
    "invitation": "You're invited to {organization} on CareSync",
    "added": "You now have access to {organization} on CareSync",
    "welcome": "Welcome to {organization}: set your CareSync password",
    "already_registered": "Your {organization} sign-up on CareSync",
    "password_reset": "Reset your CareSync password",
}


def set_password_url(user) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("account-set-password", kwargs={"uidb64": uid, "token": token})
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def account_email_send(*, user, organization, purpose: str) -> None:
    """Render the email now (the link is bound to the current password hash); the
    notification pipeline sends it after the surrounding transaction commits, with
    retries, and keeps no copy of the link once sent."""
    organization_name = organization.name if organization else "CareSync"
    context = {
        "user": user,
        "organization_name": organization_name,
        "link": set_password_url(user),
        "sign_in_url": f"{settings.SITE_URL.rstrip('/')}{reverse('login')}",
        "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        "purpose": purpose,
    }
    subject = PURPOSES[purpose].format(organization=organization_name)
    text = render_to_string("accounts/email/account.txt", context)
    html = render_to_string("accounts/email/account.html", context)
    email_message_queue(
        kind=f"account.{purpose}",
        user=user,
        organization=organization,
        subject=subject,
        body=text,
        html=html,
    )

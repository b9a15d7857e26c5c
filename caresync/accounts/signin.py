"""Web sign-in with an optional second step (two-factor code), and its enforcement."""

import time

from django import forms
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.views import LoginView
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login

from caresync.accounts.models import User
from caresync.accounts.two_factor import two_factor_enabled, two_factor_match, two_factor_required
from caresync.core.audit import audit_record
from caresync.core.errors import error_body, wants_json
from caresync.web.forms import StyledForm

PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 300
MAX_CODE_ATTEMPTS = 5


class SignInView(LoginView):
    """Password first; users with two-factor continue to the code page before sign-in."""

    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if not two_factor_enabled(user):
            return super().form_valid(form)
        self.request.session[PENDING_KEY] = {
            "user": user.pk,
            "backend": user.backend,
            "since": time.time(),
            "attempts": 0,
            "next": self.get_success_url(),
        }
        return redirect("login-verify")


class CodeForm(StyledForm):
    code = forms.CharField(
        label="Authentication code",
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
        help_text="The 6-digit code from your authenticator app, or one of your recovery codes.",
    )


@never_cache
def sign_in_verify(request):
    """Second step of sign-in: a code from the authenticator app or a recovery code."""
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["since"] > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        messages.info(request, "Sign in again to continue.")
        return redirect("login")
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and user is not None:
        device = two_factor_match(user, form.cleaned_data["code"])
        if device is not None:
            del request.session[PENDING_KEY]
            user.backend = pending["backend"]
            auth_login(request, user)
            otp_login(request, device)
            target = pending["next"]
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                target = reverse("web:dashboard")
            return redirect(target)
        pending["attempts"] += 1
        request.session[PENDING_KEY] = pending
        audit_record(
            actor=None, action="login_failed", actor_label=user.email, details={"via": "two_factor"}
        )
        if pending["attempts"] >= MAX_CODE_ATTEMPTS:
            del request.session[PENDING_KEY]
            messages.error(request, "Too many wrong codes. Sign in again.")
            return redirect("login")
        form.add_error("code", "That code did not match. Try the newest code.")
    return render(request, "accounts/sign_in_verify.html", {"form": form})


EXEMPT_PREFIXES = (
    "/static/",
    "/health/",
    "/logout/",
    "/login/",
    "/account/two-factor/",
    "/account/set-password/",
)


class TwoFactorEnforcementMiddleware:
    """Where an organization requires two-factor, its staff must enrol and verify before
    anything else; API calls on such a session get 403 ``two_factor_required``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(EXEMPT_PREFIXES)
            and two_factor_required(user)
        ):
            if wants_json(request):
                return JsonResponse(
                    error_body(
                        code="two_factor_required",
                        message="Your organization requires two-factor sign-in: enrol at "
                        "/account/two-factor/ and sign in again.",
                    ),
                    status=403,
                )
            messages.warning(
                request, "Your organization requires two-factor sign-in. Set it up to continue."
            )
            return redirect("account-two-factor")
        return self.get_response(request)

"""Account pages reachable without signing in: set password, reset, patient sign-up."""

from base64 import b32encode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.tokens import default_token_generator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from caresync.accounts.models import Organization
from caresync.accounts.selectors import user_for_link
from caresync.accounts.services import (
    password_reset_request,
    password_set_with_token,
    patient_register,
)
from caresync.accounts.signin import CodeForm
from caresync.accounts.two_factor import (
    recovery_codes_regenerate,
    totp_enrolment_confirm,
    totp_enrolment_start,
    totp_qr_data_uri,
    two_factor_disable,
    two_factor_enabled,
    two_factor_match,
    two_factor_required,
)
from caresync.core.errors import ApplicationError
from caresync.web.forms import StyledForm


class SetPasswordForm(StyledForm):
    password = forms.CharField(
        label="New password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label="Repeat the password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return data


class EmailForm(StyledForm):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class RegisterForm(StyledForm):
    first_name = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    phone = forms.CharField(
        max_length=32, required=False, widget=forms.TextInput(attrs={"autocomplete": "tel"})
    )


@never_cache
def set_password(request, uidb64: str, token: str):
    """The page behind every invitation, welcome and reset link."""
    user = user_for_link(uidb64)
    if user is None or not default_token_generator.check_token(user, token):
        return render(request, "accounts/link_invalid.html", status=400)
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            password_set_with_token(user=user, token=token, password=form.cleaned_data["password"])
        except ApplicationError as exc:
            for problem in exc.fields.get("password", []) or [{"message": exc.message}]:
                form.add_error("password", problem["message"])
        else:
            messages.success(request, "Your password is set. Sign in to continue.")
            return redirect("login")
    return render(request, "accounts/set_password.html", {"form": form, "account": user})


@never_cache
def password_reset(request):
    form = EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        password_reset_request(email=form.cleaned_data["email"])
        return render(
            request,
            "accounts/check_email.html",
            {"email": form.cleaned_data["email"], "purpose": "reset"},
        )
    return render(request, "accounts/password_reset.html", {"form": form})


@never_cache
def register(request, slug: str):
    """An organization's public patient sign-up page."""
    organization = get_object_or_404(Organization, slug=slug, is_active=True)
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        patient_register(organization=organization, **form.cleaned_data)
        return render(
            request,
            "accounts/check_email.html",
            {
                "email": form.cleaned_data["email"],
                "purpose": "register",
                "organization": organization,
            },
        )
    return render(request, "accounts/register.html", {"form": form, "organization": organization})


@login_required
@never_cache
def two_factor(request):
    """Enrol an authenticator app, verify this session, or manage recovery codes."""
    user = request.user
    enabled = two_factor_enabled(user)
    form = CodeForm(request.POST or None)
    action = request.POST.get("action", "")
    context = {"enabled": enabled, "required": two_factor_required(user), "form": form}

    if request.method == "POST" and action == "disable":
        try:
            two_factor_disable(actor=user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Two-factor sign-in is off.")
        return redirect("account-two-factor")
    if request.method == "POST" and action == "regenerate" and user.is_verified():
        context["recovery_codes"] = recovery_codes_regenerate(actor=user)
        return render(request, "accounts/two_factor.html", context)

    if not enabled:
        device = totp_enrolment_start(actor=user)
        if request.method == "POST" and form.is_valid():
            try:
                codes = totp_enrolment_confirm(actor=user, code=form.cleaned_data["code"])
            except ApplicationError as exc:
                form.add_error("code", exc.message)
            else:
                otp_login(request, TOTPDevice.objects.get(user=user, confirmed=True))
                messages.success(request, "Two-factor sign-in is on.")
                return render(
                    request,
                    "accounts/two_factor.html",
                    {**context, "enabled": True, "recovery_codes": codes},
                )
        context.update(qr=totp_qr_data_uri(device), secret=b32encode(device.bin_key).decode())
    elif not user.is_verified() and request.method == "POST" and form.is_valid():
        device = two_factor_match(user, form.cleaned_data["code"])
        if device is None:
            form.add_error("code", "That code did not match. Try the newest code.")
        else:
            otp_login(request, device)
            messages.success(request, "This session is verified.")
            return redirect("web:dashboard")
    return render(request, "accounts/two_factor.html", context)

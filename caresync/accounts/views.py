"""Account pages reachable without signing in: set password, reset, patient sign-up."""

from django import forms
from django.contrib import messages
from django.contrib.auth.tokens import default_token_generator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache

from caresync.accounts.models import Organization
from caresync.accounts.selectors import user_for_link
from caresync.accounts.services import (
    password_reset_request,
    password_set_with_token,
    patient_register,
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

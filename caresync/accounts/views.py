"""Account pages: set password, reset, patient sign-up, two-factor; and the admin pages
for members, organization settings and (platform) organizations."""

import zoneinfo
from base64 import b32encode
from functools import cache

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from caresync.accounts.models import Membership, Organization
from caresync.accounts.permissions import web_actor
from caresync.accounts.selectors import member_list, organizations_visible, user_for_link
from caresync.accounts.services import (
    member_deactivate,
    member_invite,
    organization_onboard,
    organization_update,
    organization_webhook_secret_rotate,
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
from caresync.core.policy import Actor, authorize, can
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


# --- Admin pages: members, organization settings, organizations (platform) ----------------


def authorize_page(request, permission: str, obj=None) -> Actor:
    """The page's policy actor, once ``permission`` is allowed; else the 403 page."""
    actor = web_actor(request)
    try:
        authorize(actor, permission, obj)
    except ApplicationError as exc:
        raise PermissionDenied(exc.message) from exc
    return actor


def form_errors_from(form: forms.Form, exc: ApplicationError | ValidationError) -> None:
    """Show a service's refusal on the form: field errors on their fields, the rest on top."""
    if isinstance(exc, ValidationError):
        problems = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for name, messages_ in problems.items():
            for message in messages_:
                form.add_error(name if name in form.fields else None, message)
        return
    placed = False
    for name, problems in exc.fields.items():
        for problem in problems:
            form.add_error(name if name in form.fields else None, problem["message"])
            placed = True
    if not placed:
        form.add_error(None, exc.message)


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def _paginate(request, items, per_page: int = 25):
    return Paginator(items, per_page).get_page(request.GET.get("page"))


class MemberFilterForm(StyledForm):
    STATUS_CHOICES = [("", "Any status"), ("active", "Active"), ("inactive", "Deactivated")]

    q = forms.CharField(
        label="Search",
        required=False,
        widget=forms.SearchInput(attrs={"placeholder": "Name or email"}),
    )
    role = forms.ChoiceField(choices=[("", "All roles"), *Membership.Role.choices], required=False)
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)

    def selector_filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        active = {"active": True, "inactive": False}.get(data["status"])
        return {"search": data["q"], "role": data["role"], "active": active}


class MemberInviteForm(StyledForm):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    phone = forms.CharField(max_length=32, required=False)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.PRACTITIONER)
    practitioner_kind = forms.ChoiceField(
        label="Practitioner kind",
        choices=[("", "Not a practitioner"), *Membership.PractitionerKind.choices],
        required=False,
        help_text="Required for practitioners; leave empty for other roles.",
    )


def _no_organization(request, title: str):
    return render(request, "accounts/no_organization.html", {"title": title})


@login_required
def members(request):
    """An organization's members: search, filter, deactivate."""
    actor = authorize_page(request, "member.list")
    if actor.organization is None:
        return _no_organization(request, "Members")
    filters = MemberFilterForm(request.GET or None)
    page = _paginate(request, member_list(actor=actor, **filters.selector_filters()))
    return render(
        request,
        "accounts/members.html",
        {
            "organization": actor.organization,
            "filters": filters,
            "page_obj": page,
            "filtered": any(request.GET.get(name) for name in filters.fields),
            "can_invite": can(actor, "member.invite"),
        },
    )


@login_required
def member_invite_page(request):
    """Invite a practitioner, staff member, admin or patient by email."""
    actor = authorize_page(request, "member.invite")
    if actor.organization is None:
        return _no_organization(request, "Invite a member")
    form = MemberInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member_invite(actor=request.user, organization=actor.organization, **form.cleaned_data)
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("org-members")
    return render(
        request,
        "accounts/member_invite.html",
        {"form": form, "organization": actor.organization},
    )


@login_required
@require_POST
def member_deactivate_page(request, pk: int):
    actor = authorize_page(request, "member.deactivate")
    if actor.organization is None:
        raise Http404
    membership = get_object_or_404(member_list(actor=actor), pk=pk)
    authorize_page(request, "member.deactivate", membership)
    try:
        member_deactivate(actor=request.user, membership=membership)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"{membership.user} is no longer {membership.get_role_display().lower()}."
        )
    return redirect("org-members")


class OrganizationSettingsForm(StyledForm):
    name = forms.CharField(max_length=200)
    email = forms.EmailField(label="Contact email", required=False)
    phone = forms.CharField(max_length=32, required=False)
    address = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    website = forms.URLField(required=False, assume_scheme="https")
    time_zone = forms.ChoiceField(
        choices=time_zone_choices, help_text="Appointments and reports use this time zone."
    )
    currency = forms.RegexField(
        regex=r"^[A-Za-z]{3}$",
        max_length=3,
        help_text="ISO 4217 code, e.g. AUD.",
        error_messages={"invalid": "Enter a three-letter currency code."},
    )
    default_appointment_fee = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    require_two_factor = forms.BooleanField(
        label="Require two-factor sign-in",
        required=False,
        help_text="Admins, practitioners and staff must use an authenticator app to sign in.",
    )

    def clean_currency(self):
        return self.cleaned_data["currency"].upper()


@login_required
def organization_settings(request):
    """The active organization's profile and settings."""
    actor = authorize_page(request, "organization.update")
    organization = actor.organization
    if organization is None:
        return _no_organization(request, "Settings")
    authorize_page(request, "organization.update", organization)
    initial = {name: getattr(organization, name) for name in OrganizationSettingsForm.base_fields}
    form = OrganizationSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        if not changes:
            messages.info(request, "Nothing changed.")
            return redirect("org-settings")
        try:
            organization_update(actor=request.user, organization=organization, **changes)
        except (ApplicationError, ValidationError) as exc:
            form_errors_from(form, exc)
            organization.refresh_from_db()
        else:
            messages.success(request, "Settings saved.")
            return redirect("org-settings")
    signup_url = request.build_absolute_uri(reverse("account-register", args=[organization.slug]))
    webhook_url = request.build_absolute_uri(reverse("webhook-patient"))
    return render(
        request,
        "accounts/organization_settings.html",
        {
            "form": form,
            "organization": organization,
            "signup_url": signup_url,
            "webhook_url": webhook_url,
        },
    )


@login_required
@require_POST
def organization_webhook_secret_rotate_page(request):
    """Replace the intake-webhook signing key of the active organization."""
    actor = authorize_page(request, "organization.update")
    if actor.organization is None:
        return _no_organization(request, "Settings")
    organization_webhook_secret_rotate(actor=request.user, organization=actor.organization)
    messages.success(request, "A new signing key is in place; the old one no longer works.")
    return redirect("org-settings")


class OrganizationCreateForm(StyledForm):
    name = forms.CharField(max_length=200)
    slug = forms.SlugField(
        max_length=80, help_text="Lowercase letters, digits and dashes; used in sign-up links."
    )
    time_zone = forms.ChoiceField(choices=time_zone_choices, initial="UTC")
    country = forms.RegexField(
        regex=r"^[A-Za-z]{2}$",
        max_length=2,
        help_text="Two letters, e.g. AU.",
        error_messages={"invalid": "Enter a two-letter country code."},
    )
    subdivision = forms.CharField(max_length=10, required=False, help_text="e.g. NSW.")
    currency = forms.RegexField(
        regex=r"^[A-Za-z]{3}$",
        max_length=3,
        initial="USD",
        help_text="e.g. AUD.",
        error_messages={"invalid": "Enter a three-letter currency code."},
    )
    admin_email = forms.EmailField(label="Email")
    admin_first_name = forms.CharField(label="First name", max_length=150, required=False)
    admin_last_name = forms.CharField(label="Last name", max_length=150, required=False)

    def clean_country(self):
        return self.cleaned_data["country"].upper()

    def clean_currency(self):
        return self.cleaned_data["currency"].upper()


@login_required
def platform_organizations(request):
    """Every organization on the installation; platform admins create new ones here."""
    actor = authorize_page(request, "organization.list")
    if not actor.is_platform_admin:
        authorize_page(request, "organization.create")
    form = OrganizationCreateForm(request.POST or None)
    if request.method == "POST":
        authorize_page(request, "organization.create")
        if form.is_valid():
            try:
                organization = organization_onboard(actor=request.user, **form.cleaned_data)
            except (ApplicationError, ValidationError) as exc:
                form_errors_from(form, exc)
            else:
                messages.success(
                    request,
                    f"{organization.name} is set up. An invitation was sent to "
                    f"{form.cleaned_data['admin_email']}.",
                )
                return redirect("platform-organizations")
    organizations = organizations_visible(actor=actor).annotate(
        member_count=Count("memberships", filter=Q(memberships__is_active=True))
    )
    return render(
        request,
        "accounts/platform_organizations.html",
        {"form": form, "page_obj": _paginate(request, organizations)},
    )

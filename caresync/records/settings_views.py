"""Organization admins' clinical settings: the note templates offered per service (list,
write, deactivate) and staff members' time-limited clinical read grants (grant, revoke).
Writes go through the records services, which audit them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from caresync.accounts.views import _no_organization, authorize_page, form_errors_from
from caresync.core.errors import ApplicationError
from caresync.directory.models import Service
from caresync.records.forms import ClinicalAccessGrantForm, NoteTemplateForm
from caresync.records.selectors import (
    clinical_access_candidates,
    clinical_access_grant_list,
    note_template_list,
)
from caresync.records.services import (
    clinical_access_grant,
    clinical_access_revoke,
    note_template_deactivate,
    note_template_save,
)


def _services(organization):
    return Service.objects.filter(organization=organization, is_active=True).order_by("name")


# --- Note templates --------------------------------------------------------------------------


@login_required
def note_templates(request):
    actor = authorize_page(request, "note_template.manage")
    if actor.organization is None:
        return _no_organization(request, "Note templates")
    return render(
        request,
        "records/settings/note_templates.html",
        {"templates": list(note_template_list(actor=actor))},
    )


@login_required
def note_template_edit(request, pk: int | None = None):
    """Write a new template, or change one (a change is audited with what changed)."""
    actor = authorize_page(request, "note_template.manage")
    if actor.organization is None:
        return _no_organization(request, "Note templates")
    template = None
    if pk is not None:
        template = get_object_or_404(note_template_list(actor=actor), pk=pk)
        authorize_page(request, "note_template.manage", template)
    services = list(_services(actor.organization))
    if template is not None and template.service is not None and template.service not in services:
        services.append(template.service)
    initial = NoteTemplateForm.initial_for(template) if template else {"note_type": "soap"}
    form = NoteTemplateForm(request.POST or None, initial=initial, services=services)
    if request.method == "POST" and form.is_valid():
        try:
            saved = note_template_save(
                actor=request.user,
                organization=actor.organization,
                template=template,
                **form.values(),
            )
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, f"Template “{saved.name}” saved.")
            return redirect("note-template-settings")
    return render(
        request,
        "records/settings/note_template_form.html",
        {"form": form, "template": template},
    )


def _row_action(request, *, permission: str, rows, pk: int, act, done: str, back: str):
    """A POST button on a settings row: the organization's row (else 404), the policy, one
    service call; its refusal or ``done`` (formatted with the row) as a message."""
    actor = authorize_page(request, permission)
    row = get_object_or_404(rows(actor=actor), pk=pk)
    authorize_page(request, permission, row)
    try:
        act(actor=request.user, row=row)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done.format(row=row))
    return redirect(back)


@login_required
@require_POST
def note_template_deactivate_page(request, pk: int):
    return _row_action(
        request,
        permission="note_template.manage",
        rows=note_template_list,
        pk=pk,
        act=lambda actor, row: note_template_deactivate(actor=actor, template=row),
        done="Template “{row.name}” is no longer offered.",
        back="note-template-settings",
    )


# --- Clinical access grants --------------------------------------------------------------------


@login_required
def clinical_access(request):
    """Grants in force and past ones, and the form that grants a staff member access."""
    actor = authorize_page(request, "clinical_access.manage")
    organization = actor.organization
    if organization is None:
        return _no_organization(request, "Clinical access")
    staff = list(clinical_access_candidates(actor=actor))
    form = ClinicalAccessGrantForm(request.POST or None, staff=staff)
    if request.method == "POST" and form.is_valid():
        user = form.staff[form.cleaned_data["user"]]
        try:
            clinical_access_grant(
                actor=request.user,
                organization=organization,
                user=user,
                reason=form.cleaned_data["reason"],
                days=form.cleaned_data["days"],
            )
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(
                request, f"{user} may read clinical content for {form.cleaned_data['days']} days."
            )
            return redirect("clinical-access-settings")
    now = timezone.now()
    grants = list(clinical_access_grant_list(actor=actor)[:200])
    for grant in grants:
        grant.in_force = grant.revoked_at is None and grant.expires_at > now
    return render(
        request,
        "records/settings/clinical_access.html",
        {"form": form, "grants": grants, "has_staff": bool(staff)},
    )


@login_required
@require_POST
def clinical_access_revoke_page(request, pk: int):
    return _row_action(
        request,
        permission="clinical_access.manage",
        rows=clinical_access_grant_list,
        pk=pk,
        act=lambda actor, row: clinical_access_revoke(actor=actor, grant=row),
        done="{row.user}'s clinical access is revoked.",
        back="clinical-access-settings",
    )

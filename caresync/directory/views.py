"""Directory pages: patients (list, record, registration, CSV in and out, care team),
practitioners, and the services, locations and resources admin pages."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from caresync.accounts.views import _no_organization, _paginate, authorize_page, form_errors_from
from caresync.core.errors import ApplicationError
from caresync.core.policy import Actor, can
from caresync.directory.csv_io import (
    IMPORT_COLUMNS,
    MAX_IMPORT_BYTES,
    patient_export,
    patient_import,
    patient_import_parse,
    patient_import_preview,
)
from caresync.directory.forms import (
    CareTeamAssignForm,
    LocationForm,
    PatientFilterForm,
    PatientForm,
    PatientImportUploadForm,
    PractitionerCreateForm,
    PractitionerFilterForm,
    PractitionerForm,
    ResourceForm,
    ServiceForm,
)
from caresync.directory.models import CareTeamMember
from caresync.directory.selectors import (
    care_team_list,
    location_list,
    patient_list,
    patient_reads_record,
    patient_search,
    practitioner_list,
    resource_list,
    service_list,
    webhook_log_list,
)
from caresync.directory.services import (
    care_team_assign,
    care_team_end,
    location_save,
    patient_create,
    patient_deactivate,
    patient_update,
    practitioner_create,
    practitioner_deactivate,
    practitioner_update,
    resource_save,
    service_save,
)

IMPORT_SESSION_KEY = "directory.patient_import"

PATIENT_TABS = (
    ("overview", "Overview", "layout-dashboard"),
    ("appointments", "Appointments", "calendar"),
    ("notes", "Notes", "file-text"),
    ("records", "Records", "clipboard-list"),
    ("correspondence", "Correspondence", "message-square"),
    ("health", "Health data", "heart-pulse"),
    ("billing", "Billing", "receipt"),
    ("video", "Video", "video"),
)


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _directory_actor(request, permission: str, obj=None) -> Actor:
    """The patient directory pages are a clinic tool (``patient.directory``): patients reach
    their own record through the portal, although ``patient.list`` lets the API show them
    themselves."""
    authorize_page(request, "patient.directory")
    return authorize_page(request, permission, obj)


def _patient_or_404(actor: Actor, pk: int):
    patient = get_object_or_404(patient_list(actor=actor), pk=pk)
    return patient


# --- Patients ------------------------------------------------------------------------------


@login_required
def patients(request):
    """Search, filter and sort the organization's patients; every shown row is audited."""
    actor = _directory_actor(request, "patient.list")
    if actor.organization is None:
        return _no_organization(request, "Patients")
    filters = PatientFilterForm(request.GET or None)
    wanted = filters.values()
    rows = patient_search(patient_list(actor=actor), wanted["q"])
    if wanted["status"] != "all":
        rows = rows.filter(is_active=wanted["status"] == "active")
    if wanted["ordering"]:
        rows = rows.order_by(*wanted["ordering"])
    rows = rows.prefetch_related(
        Prefetch(
            "care_team",
            queryset=CareTeamMember.objects.filter(
                role=CareTeamMember.Role.PRIMARY_NURSE, end_date__isnull=True
            ).select_related("practitioner__user"),
            to_attr="current_primary_nurses",
        )
    )
    page = _paginate(request, rows)
    today = timezone.localdate()
    for patient in page:
        patient.age = age_on(patient.date_of_birth, today)
        nurses = patient.current_primary_nurses
        patient.primary_nurse = nurses[0].practitioner if nurses else None
    patient_reads_record(actor=actor, patients=page.object_list)
    filtered = bool(wanted["q"]) or wanted["status"] != "active"
    return render(
        request,
        "directory/patients.html",
        {
            "organization": actor.organization,
            "filters": filters,
            "page_obj": page,
            "filtered": filtered,
            "query": wanted["q"],
            "can_create": can(actor, "patient.create"),
            "can_import": can(actor, "patient.import"),
            "can_export": can(actor, "patient.export"),
        },
    )


def _duplicate_candidates(actor: Actor, exc: ApplicationError) -> list:
    ids = [candidate["id"] for candidate in exc.extra.get("candidates", [])]
    candidates = list(patient_list(actor=actor).filter(pk__in=ids))
    patient_reads_record(actor=actor, patients=candidates, reason="duplicate check")
    return candidates


@login_required
def patient_new(request):
    """Register a patient; a likely duplicate is shown and may be overridden (audited)."""
    actor = _directory_actor(request, "patient.create")
    if actor.organization is None:
        return _no_organization(request, "New patient")
    form = PatientForm(request.POST or None)
    candidates = []
    if request.method == "POST" and form.is_valid():
        try:
            patient = patient_create(
                actor=request.user,
                organization=actor.organization,
                allow_duplicate=request.POST.get("allow_duplicate") == "1",
                **form.cleaned_data,
            )
        except ApplicationError as exc:
            if exc.code == "duplicate_patient":
                candidates = _duplicate_candidates(actor, exc)
            else:
                form_errors_from(form, exc)
        else:
            messages.success(request, f"{patient.display_name} is registered as {patient.mrn}.")
            return redirect("patient-detail", pk=patient.pk)
    return render(
        request,
        "directory/patient_form.html",
        {"form": form, "candidates": candidates, "organization": actor.organization},
    )


@login_required
def patient_detail(request, pk: int):
    """A patient's record: header, tabs; the overview shows demographics and care team."""
    actor = authorize_page(request, "patient.list")
    patient = _patient_or_404(actor, pk)
    authorize_page(request, "patient.view", patient)
    tab = request.GET.get("tab", "overview")
    if tab not in {key for key, _, _ in PATIENT_TABS}:
        tab = "overview"
    patient_reads_record(actor=actor, patients=[patient])
    context = {
        "patient": patient,
        "age": age_on(patient.date_of_birth, timezone.localdate()),
        "tabs": PATIENT_TABS,
        "tab": tab,
        "tab_label": dict((key, label) for key, label, _ in PATIENT_TABS)[tab],
        "can_edit": can(actor, "patient.update", patient),
        "can_deactivate": patient.is_active and can(actor, "patient.deactivate", patient),
    }
    if tab in ("notes", "records"):
        from caresync.records.views import patient_tab_context

        context.update(patient_tab_context(request, actor, patient, tab))
    if tab == "correspondence" and can(actor, "correspondence.list"):
        from caresync.notifications.views.communications import patient_tab_context as messages_tab

        context.update(messages_tab(request, actor, patient))
    if tab == "overview" and can(actor, "care_team.view", patient):
        members = list(care_team_list(patient=patient))
        context["care_team_current"] = [m for m in members if m.end_date is None]
        context["care_team_past"] = [m for m in members if m.end_date is not None]
        context["can_view_care_team"] = True
        if can(actor, "care_team.manage", patient) and patient.is_active:
            context["care_team_form"] = CareTeamAssignForm(
                practitioners=practitioner_list(actor=actor).filter(is_active=True)
            )
    return render(request, "directory/patient_detail.html", context)


@login_required
def patient_edit(request, pk: int):
    actor = _directory_actor(request, "patient.list")
    patient = _patient_or_404(actor, pk)
    authorize_page(request, "patient.update", patient)
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        if not changes:
            messages.info(request, "Nothing changed.")
            return redirect("patient-detail", pk=patient.pk)
        try:
            patient_update(actor=request.user, patient=patient, **changes)
        except (ApplicationError, ValidationError) as exc:
            form_errors_from(form, exc)
            patient.refresh_from_db()
        else:
            messages.success(request, "Patient details saved.")
            return redirect("patient-detail", pk=patient.pk)
    else:
        patient_reads_record(actor=actor, patients=[patient])
    return render(
        request,
        "directory/patient_form.html",
        {"form": form, "patient": patient, "organization": actor.organization},
    )


@login_required
@require_POST
def patient_deactivate_page(request, pk: int):
    actor = _directory_actor(request, "patient.list")
    patient = _patient_or_404(actor, pk)
    authorize_page(request, "patient.deactivate", patient)
    patient_deactivate(actor=request.user, patient=patient)
    messages.success(request, f"{patient.display_name} is deactivated. Their records stay.")
    return redirect("patient-detail", pk=patient.pk)


@login_required
@require_POST
def care_team_assign_page(request, pk: int):
    actor = _directory_actor(request, "patient.list")
    patient = _patient_or_404(actor, pk)
    authorize_page(request, "care_team.manage", patient)
    form = CareTeamAssignForm(
        request.POST, practitioners=practitioner_list(actor=actor).filter(is_active=True)
    )
    if not form.is_valid():
        problems = [f"{form.fields[n].label or n}: {' '.join(e)}" for n, e in form.errors.items()]
        messages.error(request, "The assignment was not saved. " + " ".join(problems))
    else:
        try:
            member = care_team_assign(actor=request.user, patient=patient, **form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, f"{member.practitioner} is {member.get_role_display().lower()}."
            )
    return redirect(reverse("patient-detail", args=[patient.pk]) + "#care-team")


@login_required
@require_POST
def care_team_end_page(request, pk: int, member_pk: int):
    actor = _directory_actor(request, "patient.list")
    patient = _patient_or_404(actor, pk)
    authorize_page(request, "care_team.manage", patient)
    member = get_object_or_404(care_team_list(patient=patient, current_only=True), pk=member_pk)
    try:
        care_team_end(actor=request.user, member=member)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"{member.practitioner} is no longer {member.get_role_display().lower()}."
        )
    return redirect(reverse("patient-detail", args=[patient.pk]) + "#care-team")


# --- CSV export and import -----------------------------------------------------------------


@login_required
def patients_export(request):
    """The filtered patient list as CSV (one audited export event)."""
    actor = _directory_actor(request, "patient.export")
    if actor.organization is None:
        raise Http404
    filters = PatientFilterForm(request.GET or None)
    wanted = filters.values()
    rows = patient_search(patient_list(actor=actor), wanted["q"])
    if wanted["status"] != "all":
        rows = rows.filter(is_active=wanted["status"] == "active")
    lines = patient_export(
        actor=actor,
        patients=rows.order_by(*wanted["ordering"]),
        filters={k: v for k, v in request.GET.items() if k in filters.fields},
    )
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="patients-{stamp}.csv"'
    return response


@login_required
@never_cache
def patients_import(request):
    """Upload a CSV, preview every row, then import the valid ones. The parsed rows wait in
    the session (size-capped) between the two steps; no file is written to disk."""
    actor = _directory_actor(request, "patient.import")
    if actor.organization is None:
        return _no_organization(request, "Import patients")
    organization = actor.organization
    context = {"organization": organization, "columns": IMPORT_COLUMNS}
    step = request.POST.get("step", "")

    if request.method == "POST" and step == "import":
        stored = request.session.get(IMPORT_SESSION_KEY)
        if not stored or stored.get("organization") != organization.pk:
            messages.error(request, "The upload expired. Choose the file again.")
            return redirect("patient-import")
        outcome = patient_import(
            actor=actor,
            organization=organization,
            rows=stored["rows"],
            include_duplicates=request.POST.get("include_duplicates") == "on",
        )
        del request.session[IMPORT_SESSION_KEY]
        summary = (
            f"Imported {len(outcome.created)} patient{'s' if len(outcome.created) != 1 else ''}."
        )
        if outcome.skipped_duplicates:
            summary += f" Skipped {outcome.skipped_duplicates} likely duplicate(s)."
        if outcome.failed:
            summary += f" {outcome.failed} row(s) with errors were not imported."
        messages.success(request, summary)
        return redirect("patient-list")

    form = PatientImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            form.add_error("file", "The file is larger than 2 MB. Split it into smaller files.")
        else:
            parsed = patient_import_parse(upload.read())
            for problem in parsed.problems:
                form.add_error("file", problem)
            if not parsed.problems:
                checks = patient_import_preview(
                    actor=actor, organization=organization, rows=parsed.rows
                )
                candidates = [pk for check in checks for pk in check.candidate_ids]
                patient_reads_record(
                    actor=actor,
                    patients=patient_list(actor=actor).filter(pk__in=candidates),
                    reason="import duplicate check",
                )
                request.session[IMPORT_SESSION_KEY] = {
                    "organization": organization.pk,
                    "rows": parsed.rows,
                }
                counts = {status: 0 for status in ("ok", "error", "duplicate")}
                for check in checks:
                    counts[check.status] += 1
                context.update(
                    checks=checks,
                    counts=counts,
                    unknown_columns=parsed.unknown_columns,
                    filename=upload.name,
                )
                return render(request, "directory/patient_import_preview.html", context)
    if request.method == "GET":
        request.session.pop(IMPORT_SESSION_KEY, None)
    context["form"] = form
    return render(request, "directory/patient_import.html", context)


# --- Practitioners -------------------------------------------------------------------------


@login_required
def practitioners(request):
    actor = authorize_page(request, "practitioner.list")
    if actor.organization is None:
        return _no_organization(request, "Practitioners")
    filters = PractitionerFilterForm(request.GET or None)
    data = filters.cleaned_data if filters.is_valid() else {}
    can_manage = can(actor, "practitioner.manage")
    rows = practitioner_list(actor=actor)
    if not can_manage:
        rows = rows.filter(is_active=True)
    if data.get("q"):
        for word in data["q"].split():
            rows = rows.filter(
                Q(user__first_name__icontains=word)
                | Q(user__last_name__icontains=word)
                | Q(specialization__icontains=word)
            )
    if data.get("kind"):
        rows = rows.filter(kind=data["kind"])
    if data.get("accepting"):
        rows = rows.filter(accepting_new_patients=data["accepting"] == "yes")
    page = _paginate(request, rows.order_by("-is_active", "user__last_name", "user__first_name"))
    return render(
        request,
        "directory/practitioners.html",
        {
            "organization": actor.organization,
            "filters": filters,
            "page_obj": page,
            "filtered": any(request.GET.get(name) for name in filters.fields),
            "can_manage": can_manage,
        },
    )


@login_required
def practitioner_detail(request, pk: int):
    actor = authorize_page(request, "practitioner.list")
    practitioner = get_object_or_404(practitioner_list(actor=actor), pk=pk)
    authorize_page(request, "practitioner.view", practitioner)
    can_manage = can(actor, "practitioner.manage", practitioner)
    if not practitioner.is_active and not can_manage:
        raise Http404
    return render(
        request,
        "directory/practitioner_detail.html",
        {
            "practitioner": practitioner,
            "services": practitioner.services.filter(is_active=True),
            "locations": practitioner.locations.all(),
            "can_manage": can_manage,
        },
    )


@login_required
def practitioner_new(request):
    """Add a practitioner: they get an invitation to set a password."""
    actor = authorize_page(request, "practitioner.manage")
    if actor.organization is None:
        return _no_organization(request, "Add a practitioner")
    form = PractitionerCreateForm(request.POST or None, locations=location_list(actor=actor))
    if request.method == "POST" and form.is_valid():
        fields = dict(form.cleaned_data)
        try:
            practitioner = practitioner_create(
                actor=request.user, organization=actor.organization, **fields
            )
        except (ApplicationError, ValidationError) as exc:
            form_errors_from(form, exc)
        else:
            messages.success(
                request, f"{practitioner} is added. An invitation was sent to {fields['email']}."
            )
            return redirect("practitioner-detail", pk=practitioner.pk)
    return render(request, "directory/practitioner_form.html", {"form": form, "practitioner": None})


@login_required
def practitioner_edit(request, pk: int):
    actor = authorize_page(request, "practitioner.manage")
    practitioner = get_object_or_404(practitioner_list(actor=actor), pk=pk)
    authorize_page(request, "practitioner.manage", practitioner)
    form = PractitionerForm(
        request.POST or None, instance=practitioner, locations=location_list(actor=actor)
    )
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        locations = changes.pop("locations", None)
        try:
            practitioner_update(
                actor=request.user, practitioner=practitioner, locations=locations, **changes
            )
        except (ApplicationError, ValidationError) as exc:
            form_errors_from(form, exc)
            practitioner.refresh_from_db()
        else:
            messages.success(request, "Profile saved.")
            return redirect("practitioner-detail", pk=practitioner.pk)
    return render(
        request, "directory/practitioner_form.html", {"form": form, "practitioner": practitioner}
    )


@login_required
@require_POST
def practitioner_deactivate_page(request, pk: int):
    actor = authorize_page(request, "practitioner.manage")
    practitioner = get_object_or_404(practitioner_list(actor=actor), pk=pk)
    authorize_page(request, "practitioner.manage", practitioner)
    practitioner_deactivate(actor=request.user, practitioner=practitioner)
    messages.success(request, f"{practitioner} is no longer offered for booking.")
    return redirect("practitioner-detail", pk=practitioner.pk)


# --- Services, locations, resources ---------------------------------------------------------


def _settings_list(request, *, permission: str, manage: str, selector, template: str, title: str):
    actor = authorize_page(request, permission)
    if actor.organization is None:
        return _no_organization(request, title)
    return render(
        request,
        template,
        {
            "organization": actor.organization,
            "page_obj": _paginate(request, selector(actor=actor)),
            "can_manage": can(actor, manage),
        },
    )


def _settings_edit(request, pk, *, manage, selector, form_class, save, argument, template, **extra):
    """Create (``pk=None``) or edit one service, location or resource through its service."""
    actor = authorize_page(request, manage)
    if actor.organization is None:
        return _no_organization(request, "Settings")
    instance = get_object_or_404(selector(actor=actor), pk=pk) if pk else None
    if instance is not None:
        authorize_page(request, manage, instance)
    form_kwargs = {name: build(actor) for name, build in extra.pop("choices", {}).items()}
    form = form_class(request.POST or None, instance=instance, **form_kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            saved = save(
                actor=request.user,
                organization=actor.organization,
                **{argument: instance},
                **form.cleaned_data,
            )
        except (ApplicationError, ValidationError) as exc:
            form_errors_from(form, exc)
        else:
            verb = "saved" if instance else "added"
            messages.success(request, f"{saved} is {verb}.")
            return redirect(extra["list_url"])
    return render(request, template, {"form": form, "instance": instance, **extra})


@login_required
def services(request):
    return _settings_list(
        request,
        permission="service.list",
        manage="service.manage",
        selector=service_list,
        template="directory/services.html",
        title="Services",
    )


@login_required
def service_edit(request, pk: int | None = None):
    return _settings_edit(
        request,
        pk,
        manage="service.manage",
        selector=service_list,
        form_class=ServiceForm,
        save=service_save,
        argument="service",
        template="directory/service_form.html",
        choices={"practitioners": lambda actor: practitioner_list(actor=actor)},
        list_url="service-list",
    )


@login_required
def locations(request):
    return _settings_list(
        request,
        permission="location.list",
        manage="location.manage",
        selector=location_list,
        template="directory/locations.html",
        title="Locations",
    )


@login_required
def location_edit(request, pk: int | None = None):
    return _settings_edit(
        request,
        pk,
        manage="location.manage",
        selector=location_list,
        form_class=LocationForm,
        save=location_save,
        argument="location",
        template="directory/location_form.html",
        list_url="location-list",
    )


@login_required
def resources(request):
    return _settings_list(
        request,
        permission="resource.list",
        manage="resource.manage",
        selector=resource_list,
        template="directory/resources.html",
        title="Resources",
    )


@login_required
def resource_edit(request, pk: int | None = None):
    return _settings_edit(
        request,
        pk,
        manage="resource.manage",
        selector=resource_list,
        form_class=ResourceForm,
        save=resource_save,
        argument="resource",
        template="directory/resource_form.html",
        choices={"locations": lambda actor: location_list(actor=actor)},
        list_url="resource-list",
    )


@login_required
def webhook_log(request):
    """Calls to the patient-intake webhook, newest first (organization admins)."""
    actor = authorize_page(request, "webhook_log.list")
    if actor.organization is None:
        return _no_organization(request, "Webhook log")
    page = _paginate(request, webhook_log_list(actor=actor).select_related("patient"))
    patient_reads_record(
        actor=actor, patients={c.patient for c in page if c.patient_id}, reason="webhook log"
    )
    return render(
        request,
        "directory/webhook_log.html",
        {"page_obj": page, "organization": actor.organization},
    )

"""Clinical pages: the patient's Notes and Records tabs (timeline with filters, rich editor,
drag-and-drop attachments), writing, amending, signing, retracting and the history of a
note or record, audited downloads, break-glass, and the visit-note offer of a completed
appointment."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from caresync.accounts.permissions import web_actor
from caresync.accounts.views import authorize_page, form_errors_from
from caresync.core.break_glass import break_glass_open
from caresync.core.errors import ApplicationError
from caresync.core.policy import Actor, can
from caresync.directory.selectors import patient_list, practitioner_list
from caresync.records.access import clinical_read_allowed
from caresync.records.api import attachment_served
from caresync.records.forms import (
    MEDICATION_ROWS,
    MedicalRecordForm,
    NoteFilterForm,
    NoteForm,
    RetractForm,
)
from caresync.records.models import (
    Attachment,
    ClinicalNote,
    ClinicalStatus,
    MedicalRecord,
)
from caresync.records.selectors import (
    appointments_for_notes,
    attachment_list,
    clinical_note_list,
    clinical_note_versions,
    clinical_reads_record,
    medical_record_list,
    medical_record_versions,
    note_template_for,
    practitioner_for,
)
from caresync.records.services import (
    NOTE_FIELDS,
    clinical_note_create,
    clinical_note_pin,
    clinical_note_retract,
    clinical_note_sign,
    clinical_note_update,
    medical_record_create,
    medical_record_finalize,
    medical_record_retract,
    medical_record_update,
)
from caresync.scheduling.models import Appointment

SOAP = ("subjective", "objective", "assessment", "plan")


def _patient(actor: Actor, pk: int):
    return get_object_or_404(patient_list(actor=actor), pk=pk)


def _tab_url(patient, tab: str) -> str:
    return f"{reverse('patient-detail', args=[patient.pk])}?tab={tab}"


def _org_rows(actor: Actor, model):
    if actor.organization is None:
        raise Http404
    return model.objects.filter(organization=actor.organization).select_related(
        "patient", "patient__organization"
    )


def _decorate_note(actor: Actor, note: ClinicalNote) -> ClinicalNote:
    retracted = note.status == ClinicalStatus.ENTERED_IN_ERROR
    note.is_soap = note.note_type == ClinicalNote.Type.SOAP
    note.sections = [(name.capitalize(), getattr(note, name)) for name in SOAP]
    note.can_edit = not retracted and can(actor, "note.update", note)
    note.can_retract = not retracted and can(actor, "note.retract", note)
    note.can_pin = not retracted and can(actor, "note.pin", note)
    note.files = [a for a in note.attachments.all() if a.retracted_at is None]
    return note


def _decorate_record(actor: Actor, record: MedicalRecord) -> MedicalRecord:
    retracted = record.status == ClinicalStatus.ENTERED_IN_ERROR
    record.can_edit = not retracted and can(actor, "record.update", record)
    record.can_retract = not retracted and can(actor, "record.retract", record)
    record.files = [a for a in record.attachments.all() if a.retracted_at is None]
    return record


# --- Patient tabs ------------------------------------------------------------------------


def patient_tab_context(request, actor: Actor, patient, tab: str) -> dict:
    """Context of the patient page's Notes or Records tab (reads are audited)."""
    permission = "note.view" if tab == "notes" else "record.view"
    context = {"records_tab": f"records/partials/{tab}_tab.html"}
    if not can(actor, permission, patient):
        context["clinical_locked"] = True
        context["can_break_glass"] = can(actor, "break_glass.open")
        return context
    if tab == "notes":
        authors = practitioner_list(actor=actor).filter(clinical_notes__patient=patient).distinct()
        filters = NoteFilterForm(request.GET or None, authors=authors)
        wanted = filters.values()
        notes = list(
            clinical_note_list(
                actor=actor,
                note_type=wanted["note_type"],
                author=wanted["author"],
                since=wanted["since"],
                until=wanted["until"],
            ).filter(patient=patient)
        )
        clinical_reads_record(actor=actor, objects=notes)
        context.update(
            notes=[_decorate_note(actor, note) for note in notes],
            note_filters=filters,
            filtered=any(wanted.values()),
            can_write_note=can(actor, "note.create", patient)
            and practitioner_for(actor=actor) is not None,
        )
    else:
        records = list(
            medical_record_list(actor=actor).filter(patient=patient).prefetch_related("attachments")
        )
        clinical_reads_record(actor=actor, objects=records)
        context.update(
            medical_records=[_decorate_record(actor, record) for record in records],
            can_write_record=can(actor, "record.create", patient)
            and practitioner_for(actor=actor) is not None,
        )
    return context


@login_required
@require_POST
def break_glass_page(request, pk: int):
    """Open emergency access to a patient's chart with a stated reason (audited)."""
    actor = authorize_page(request, "break_glass.open")
    patient = _patient(actor, pk)
    tab = request.POST.get("tab") if request.POST.get("tab") in ("notes", "records") else "notes"
    try:
        break_glass_open(actor=actor, patient_id=patient.pk, reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.warning(request, "Emergency access is open and recorded with your reason.")
    return redirect(_tab_url(patient, tab))


def visit_note_offer(actor: Actor, appointment: Appointment) -> dict | None:
    """For a completed appointment: the link that starts its note from the service's
    template, when the viewer may write one."""
    if appointment.status != Appointment.Status.COMPLETED:
        return None
    if practitioner_for(actor=actor) is None or not can(actor, "note.create", appointment.patient):
        return None
    return {
        "url": reverse("note-create", args=[appointment.patient_id])
        + f"?appointment={appointment.pk}",
        "template": note_template_for(appointment=appointment)["template"],
        "written": ClinicalNote.objects.filter(appointment=appointment)
        .exclude(status=ClinicalStatus.ENTERED_IN_ERROR)
        .exists(),
    }


# --- Notes ---------------------------------------------------------------------------------


def _note_page(request, actor, patient, form, *, note=None, template=None):
    return render(
        request,
        "records/note_form.html",
        {
            "patient": patient,
            "form": form,
            "note": note,
            "template_name": template,
            "soap_fields": [form[name] for name in SOAP],
            "max_upload_mb": _max_upload_mb(),
        },
    )


def _max_upload_mb() -> int:
    from django.conf import settings

    return settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)


@login_required
def note_new(request, pk: int):
    """Write a note for the patient; ``?appointment=`` starts from that visit's template."""
    actor = authorize_page(request, "note.create")
    patient = _patient(actor, pk)
    authorize_page(request, "note.create", patient)
    author = practitioner_for(actor=actor)
    if author is None:
        raise PermissionDenied("Only practitioners with a profile here can write notes.")
    visits = list(appointments_for_notes(patient=patient)[:50])
    template = None
    initial = {"note_type": ClinicalNote.Type.PROGRESS}
    visit = next((v for v in visits if str(v.pk) == request.GET.get("appointment")), None)
    if visit is not None:
        template = note_template_for(appointment=visit)
        initial = {**template, "appointment": visit.pk}
    form = NoteForm(request.POST or None, initial=initial, appointments=visits)
    if request.method == "POST" and form.is_valid():
        try:
            note = clinical_note_create(
                actor=request.user,
                patient=patient,
                author=author,
                appointment=next(
                    (v for v in visits if v.pk == form.cleaned_data["appointment"]), None
                ),
                draft=form.cleaned_data["draft"],
                attachments=form.cleaned_data["attachments"],
                uploads=request.FILES.getlist("files"),
                **form.content(),
            )
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            saved = "Draft saved." if note.status == ClinicalStatus.DRAFT else "Note signed."
            messages.success(request, saved)
            return redirect(_tab_url(patient, "notes"))
    return _note_page(
        request, actor, patient, form, template=template["template"] if template else None
    )


@login_required
def note_edit(request, pk: int):
    """Edit a draft or amend a signed note (with a reason); the old version stays."""
    actor = web_actor(request)
    note = get_object_or_404(_org_rows(actor, ClinicalNote), pk=pk)
    authorize_page(request, "note.update", note)
    if note.status == ClinicalStatus.ENTERED_IN_ERROR:
        raise PermissionDenied("A retracted note cannot be changed.")
    visits = list(appointments_for_notes(patient=note.patient)[:50])
    initial = {name: getattr(note, name) for name in NOTE_FIELDS}
    initial["appointment"] = note.appointment_id
    form = NoteForm(request.POST or None, initial=initial, appointments=visits)
    form.fields.pop("draft")
    if request.method == "POST" and form.is_valid():
        try:
            clinical_note_update(
                actor=request.user,
                note=note,
                reason=form.cleaned_data["reason"],
                appointment=next(
                    (v for v in visits if v.pk == form.cleaned_data["appointment"]), None
                ),
                attachments=form.cleaned_data["attachments"],
                **form.content(),
            )
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, "Note saved; the previous version is in its history.")
            return redirect(_tab_url(note.patient, "notes"))
    else:
        clinical_reads_record(actor=actor, objects=[note])
    return _note_page(request, actor, note.patient, form, note=note)


@login_required
def note_history(request, pk: int):
    """Every version of a note, newest first."""
    actor = web_actor(request)
    note = get_object_or_404(_org_rows(actor, ClinicalNote).select_related("author__user"), pk=pk)
    authorize_page(request, "note.view", note)
    clinical_reads_record(actor=actor, objects=[note], details={"versions": True})
    versions = list(clinical_note_versions(note=note))
    for version in versions:
        version.sections = [(name.capitalize(), version.data.get(name, "")) for name in SOAP]
        version.is_soap = version.data.get("note_type") == ClinicalNote.Type.SOAP
    return render(
        request,
        "records/history.html",
        {"subject": note, "patient": note.patient, "versions": versions, "kind": "note"},
    )


@login_required
@require_POST
def note_retract(request, pk: int):
    actor = web_actor(request)
    note = get_object_or_404(_org_rows(actor, ClinicalNote), pk=pk)
    authorize_page(request, "note.retract", note)
    form = RetractForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the note is in error (at least 5 characters).")
    else:
        try:
            clinical_note_retract(actor=request.user, note=note, reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "The note is marked as entered in error.")
    return redirect(_tab_url(note.patient, "notes"))


@login_required
@require_POST
def note_pin(request, pk: int):
    actor = web_actor(request)
    note = get_object_or_404(_org_rows(actor, ClinicalNote), pk=pk)
    authorize_page(request, "note.pin", note)
    try:
        clinical_note_pin(actor=request.user, note=note, pinned=request.POST.get("pinned") == "1")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(_tab_url(note.patient, "notes"))


@login_required
@require_POST
def note_sign(request, pk: int):
    actor = web_actor(request)
    note = get_object_or_404(_org_rows(actor, ClinicalNote), pk=pk)
    authorize_page(request, "note.update", note)
    try:
        clinical_note_sign(actor=request.user, note=note)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Note signed.")
    return redirect(_tab_url(note.patient, "notes"))


# --- Medical records ------------------------------------------------------------------------


def _record_page(request, patient, form, *, record=None):
    return render(
        request,
        "records/record_form.html",
        {"patient": patient, "form": form, "record": record},
    )


@login_required
def record_new(request, pk: int):
    actor = authorize_page(request, "record.create")
    patient = _patient(actor, pk)
    authorize_page(request, "record.create", patient)
    author = practitioner_for(actor=actor)
    if author is None:
        raise PermissionDenied("Only practitioners with a profile here can write records.")
    visits = list(appointments_for_notes(patient=patient)[:50])
    initial = {}
    visit = next((v for v in visits if str(v.pk) == request.GET.get("appointment")), None)
    if visit is not None:
        initial["appointment"] = visit.pk
    form = MedicalRecordForm(request.POST or None, initial=initial, appointments=visits)
    form.fields.pop("reason")
    if request.method == "POST" and form.is_valid():
        try:
            medical_record_create(
                actor=request.user,
                patient=patient,
                practitioner=author,
                appointment=next(
                    (v for v in visits if v.pk == form.cleaned_data["appointment"]), None
                ),
                finalize=not form.cleaned_data["draft"],
                **form.content(),
            )
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, "Medical record saved.")
            return redirect(_tab_url(patient, "records"))
    return _record_page(request, patient, form)


@login_required
def record_edit(request, pk: int):
    actor = web_actor(request)
    record = get_object_or_404(_org_rows(actor, MedicalRecord), pk=pk)
    authorize_page(request, "record.update", record)
    if record.status == ClinicalStatus.ENTERED_IN_ERROR:
        raise PermissionDenied("A retracted record cannot be changed.")
    visits = list(appointments_for_notes(patient=record.patient)[:50])
    form = MedicalRecordForm(
        request.POST or None,
        initial=MedicalRecordForm.initial_for(record),
        appointments=visits,
        medication_rows=max(MEDICATION_ROWS, len(record.medications) + 2),
    )
    form.fields.pop("draft")
    if request.method == "POST" and form.is_valid():
        try:
            medical_record_update(
                actor=request.user,
                record=record,
                reason=form.cleaned_data["reason"],
                appointment=next(
                    (v for v in visits if v.pk == form.cleaned_data["appointment"]), None
                ),
                **form.content(),
            )
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, "Record saved; the previous version is in its history.")
            return redirect(_tab_url(record.patient, "records"))
    else:
        clinical_reads_record(actor=actor, objects=[record])
    return _record_page(request, record.patient, form, record=record)


@login_required
def record_history(request, pk: int):
    actor = web_actor(request)
    record = get_object_or_404(_org_rows(actor, MedicalRecord), pk=pk)
    authorize_page(request, "record.view", record)
    clinical_reads_record(actor=actor, objects=[record], details={"versions": True})
    return render(
        request,
        "records/history.html",
        {
            "subject": record,
            "patient": record.patient,
            "versions": list(medical_record_versions(record=record)),
            "kind": "record",
        },
    )


@login_required
@require_POST
def record_retract(request, pk: int):
    actor = web_actor(request)
    record = get_object_or_404(_org_rows(actor, MedicalRecord), pk=pk)
    authorize_page(request, "record.retract", record)
    form = RetractForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the record is in error (at least 5 characters).")
    else:
        try:
            medical_record_retract(
                actor=request.user, record=record, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "The record is marked as entered in error.")
    return redirect(_tab_url(record.patient, "records"))


@login_required
@require_POST
def record_sign(request, pk: int):
    actor = web_actor(request)
    record = get_object_or_404(_org_rows(actor, MedicalRecord), pk=pk)
    authorize_page(request, "record.update", record)
    try:
        medical_record_finalize(actor=request.user, record=record)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Record signed.")
    return redirect(_tab_url(record.patient, "records"))


# --- Files ----------------------------------------------------------------------------------


@login_required
def attachment_download(request, pk: int):
    """A chart file for those who may read it (audited); never from a public path."""
    actor = web_actor(request)
    rows = attachment_list(actor=actor)
    if actor.roles & {"org_admin", "practitioner", "staff"}:
        rows = _org_rows(actor, Attachment)
    attachment = get_object_or_404(rows, pk=pk)
    authorize_page(request, "attachment.view", attachment)
    if attachment.retracted_at is not None or not clinical_read_allowed(actor, attachment):
        raise Http404
    return attachment_served(request, actor, attachment)

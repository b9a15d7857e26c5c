import sys

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import OperationalError
from django.db.models import F
from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotFound,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from caresync.accounts.views import authorize_page
from caresync.core import break_glass
from caresync.core.api import AuditEventFilter, audit_csv_response
from caresync.core.errors import ApplicationError, json_error, wants_json
from caresync.core.selectors import audit_event_list, platform_health
from caresync.web.forms import StyledFormMixin


@never_cache
@require_GET
def health(request):
    """GET /health/ — 200 when database, cache, channel layer and broker are up, else 503."""
    report = platform_health()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def bad_request(request, exception=None):
    if wants_json(request):
        return json_error(
            request,
            status_code=400,
            code="bad_request",
            message="The request could not be understood.",
        )
    return HttpResponseBadRequest(loader.render_to_string("400.html", request=request))


def permission_denied(request, exception=None):
    if wants_json(request):
        return json_error(
            request,
            status_code=403,
            code="permission_denied",
            message="You do not have permission to perform this action.",
        )
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    if wants_json(request):
        return json_error(request, status_code=404, code="not_found", message="Not found.")
    return HttpResponseNotFound(loader.render_to_string("404.html", request=request))


DATABASE_BUSY_RETRY_SECONDS = 2


def server_error(request):
    """500, or 503 with Retry-After when the database could not serve the request (a lock
    or pool wait that timed out, the server unreachable): nothing was changed, so the
    client can simply try again."""
    if isinstance(sys.exception(), OperationalError):
        return _database_busy(request)
    if wants_json(request):
        return json_error(
            request,
            status_code=500,
            code="server_error",
            message="An unexpected error occurred. It has been logged.",
        )
    # No request context: the failure may be in a context processor or the database.
    return HttpResponseServerError(loader.render_to_string("500.html"))


def _database_busy(request):
    if wants_json(request):
        response = json_error(
            request,
            status_code=503,
            code="database_busy",
            message="The service is busy and changed nothing. Try again in a moment.",
        )
    else:
        page = loader.render_to_string(
            "500.html",
            {
                "code": 503,
                "title": "We are busy right now",
                "text": "Nothing was changed. Please try again in a moment.",
            },
        )
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(DATABASE_BUSY_RETRY_SECONDS)
    return response


def csrf_failure(request, reason=""):
    if wants_json(request):
        return json_error(
            request,
            status_code=403,
            code="csrf_failed",
            message="CSRF verification failed. Reload the page and try again.",
        )
    return render(request, "403_csrf.html", status=403)


# --- Audit trail viewer ---------------------------------------------------------------------

ACTION_TONES = {
    "create": "ok",
    "invite": "ok",
    "update": "info",
    "password_set": "info",
    "password_reset": "info",
    "two_factor": "info",
    "export": "warning",
    "read": "brand",
    "delete": "danger",
    "login_failed": "danger",
    "locked_out": "danger",
    "permission_denied": "danger",
    "break_glass": "danger",
}


class AuditFilterForm(StyledFormMixin, forms.Form):
    pass


class AuditEventPageFilter(AuditEventFilter):
    """The API's audit filters, labelled for the page, with date-time pickers."""

    LABELS = {
        "actor": "Actor",
        "patient": "Patient ID",
        "action": "Action",
        "object_type": "Object type",
        "since": "From",
        "until": "Until",
    }

    class Meta(AuditEventFilter.Meta):
        form = AuditFilterForm

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in self.LABELS.items():
            self.filters[name].label = label
        self.filters["action"].extra["empty_label"] = "Any action"
        self.filters["actor"].extra["widget"] = forms.TextInput(
            attrs={"placeholder": "Email contains…"}
        )
        for name in ("since", "until"):
            self.filters[name].extra["widget"] = forms.DateTimeInput(
                attrs={"type": "datetime-local", "step": 60}
            )


def _audit_time_zone(actor) -> str:
    organization = actor.organization
    return organization.time_zone if organization else (actor.user.time_zone or "UTC")


def _audit_filtered(request, actor):
    """The filter set over the actor's audit events; date-times without an offset are read
    in the organization's time zone."""
    filters = AuditEventPageFilter(request.GET or None, queryset=audit_event_list(actor=actor))
    with timezone.override(_audit_time_zone(actor)):
        events = filters.qs
    return filters, events


@login_required
def audit_events(request):
    """The audit trail, newest first, with filters and CSV export."""
    actor = authorize_page(request, "audit.list")
    filters, events = _audit_filtered(request, actor)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    for event in page:
        event.tone = ACTION_TONES.get(event.action, "")
    return render(
        request,
        "core/audit_events.html",
        {
            "filters": filters,
            "page_obj": page,
            "time_zone": _audit_time_zone(actor),
            "organization": actor.organization,
            "filtered": any(request.GET.get(name) for name in filters.form.fields),
        },
    )


@login_required
@require_GET
def audit_events_export(request):
    """The filtered audit trail as CSV; the export itself is audited."""
    actor = authorize_page(request, "audit.export")
    filters, events = _audit_filtered(request, actor)
    return audit_csv_response(actor=actor, events=events, filters=request.GET.dict())


@login_required
def break_glass_page(request):
    """Break-glass accesses of the organization: unreviewed first; mark them reviewed."""
    actor = authorize_page(request, "break_glass.review")
    accesses = break_glass.break_glass_list(actor=actor)
    if request.method == "POST":
        access = get_object_or_404(accesses, pk=request.POST.get("access"))
        try:
            break_glass.break_glass_review(
                actor=actor, access=access, note=request.POST.get("note", "")[:2000]
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Marked as reviewed.")
        return redirect("break-glass-review")
    page = Paginator(
        accesses.order_by(F("reviewed_at").asc(nulls_first=True), "-opened_at"), 25
    ).get_page(request.GET.get("page"))
    return render(
        request, "core/break_glass.html", {"page_obj": page, "organization": actor.organization}
    )

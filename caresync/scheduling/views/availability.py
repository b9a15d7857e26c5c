"""A practitioner's working hours: the weekly grid (rule blocks, public holidays and
closures marked), time off and extra hours, and the upcoming closed days. Whoever may
manage the schedule (the practitioner, or an organization admin) edits it here; everyone
else gets the same page read-only. Organization closures have their own page."""

import math
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from caresync.accounts.views import authorize_page, form_errors_from
from caresync.core import policy
from caresync.core.errors import ApplicationError
from caresync.core.policy import Actor, can
from caresync.directory.models import Practitioner
from caresync.directory.selectors import location_list, practitioner_list, service_list
from caresync.scheduling.availability_forms import (
    ClosureForm,
    ExceptionForm,
    RuleForm,
    sensible_year,
)
from caresync.scheduling.models import AvailabilityRule
from caresync.scheduling.selectors import (
    availability_exception_list,
    availability_rule_list,
    closure_list,
    holidays_between,
    practitioner_time_zone,
)
from caresync.scheduling.services import (
    availability_exception_delete,
    availability_exception_save,
    availability_rule_delete,
    availability_rule_save,
    availability_rules_create,
    closure_delete,
    closure_save,
)
from caresync.scheduling.views.common import wall

HOLIDAY_WEEKS = 8
WEEKDAYS = AvailabilityRule.Weekday.choices


# --- The weekly grid ------------------------------------------------------------------------


@dataclass
class GridCell:
    day: date
    closed: bool = False
    rule: AvailabilityRule | None = None
    rows: int = 1


@dataclass
class GridRow:
    label: str
    hour: bool
    cells: list[GridCell] = field(default_factory=list)


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def rules_on(rules, day: date) -> list[AvailabilityRule]:
    """The rules in effect on ``day``, by start time."""
    return sorted(
        (
            r
            for r in rules
            if r.weekday == day.weekday()
            and (r.effective_from is None or r.effective_from <= day)
            and (r.effective_to is None or day <= r.effective_to)
        ),
        key=lambda r: (r.start_time, r.pk),
    )


def week_grid(rules, days: list[date], closed: set[date]) -> list[GridRow]:
    """Rows of a Monday–Sunday table in which each rule in effect is one cell spanning its
    hours (``rows``); rows are as fine as the rules need (30 minutes, or 15, 10, 5)."""
    by_day = {day: rules_on(rules, day) for day in days}
    bounds = [_minutes(t) for rs in by_day.values() for r in rs for t in (r.start_time, r.end_time)]
    step = math.gcd(30, *bounds) if bounds else 30
    step = max(step, 5)
    first = min([*bounds, 8 * 60]) // 60 * 60
    last = -(-max([*bounds, 18 * 60]) // 60) * 60
    # Blocks per day, skipping any that collides with an earlier one (only possible with
    # rules saved before overlaps were refused; the list below the grid still shows them).
    blocks: dict[date, dict[int, AvailabilityRule]] = {}
    for day, day_rules in by_day.items():
        placed, free_from = {}, 0
        for rule in day_rules:
            start = _minutes(rule.start_time)
            if start >= free_from:
                placed[start] = rule
                free_from = _minutes(rule.end_time)
        blocks[day] = placed
    rows: list[GridRow] = []
    covered = dict.fromkeys(days, first)
    for minute in range(first, last, step):
        row = GridRow(f"{minute // 60:02d}:{minute % 60:02d}", minute % 60 == 0)
        for day in days:
            rule = blocks[day].get(minute)
            if rule is not None:
                span = (_minutes(rule.end_time) - minute) // step
                row.cells.append(GridCell(day, day in closed, rule, span))
                covered[day] = _minutes(rule.end_time)
            elif minute >= covered[day]:
                row.cells.append(GridCell(day, day in closed))
        rows.append(row)
    return rows


# --- Page plumbing --------------------------------------------------------------------------


def _practitioner(request, pk: int) -> tuple[Actor, Practitioner]:
    actor = authorize_page(request, "availability.view")
    practitioner = get_object_or_404(practitioner_list(actor=actor), pk=pk)
    authorize_page(request, "availability.view", practitioner)
    return actor, practitioner


def _editor(request, pk: int) -> tuple[Actor, Practitioner]:
    """The practitioner, once the signed-in user may manage their schedule (else 403)."""
    actor, practitioner = _practitioner(request, pk)
    authorize_page(request, "availability.manage", practitioner)
    return actor, practitioner


def _rule_form(
    actor: Actor, practitioner: Practitioner, data=None, *, rule=None, **kwargs
) -> RuleForm:
    locations = location_list(actor=actor)
    active = locations.filter(is_active=True)
    if rule is not None:  # a rule's current location stays choosable even once closed
        active = active | locations.filter(pk=rule.location_id)
    offered = service_list(actor=actor).filter(is_active=True, practitioners=practitioner)
    if rule is not None:
        offered = offered | service_list(actor=actor).filter(pk__in=rule.services.all())
    return RuleForm(data, locations=active.distinct(), services=offered.distinct(), **kwargs)


def _week_start(request, zone: ZoneInfo) -> date:
    wanted = request.GET.get("week", "")
    try:
        day = date.fromisoformat(wanted)
        sensible_year(day)
    except (ValueError, ValidationError):
        day = timezone.localdate(timezone=zone)
    return day - timedelta(days=day.weekday())


def _availability_url(practitioner: Practitioner, anchor: str = "") -> str:
    url = reverse("availability", args=[practitioner.pk])
    return f"{url}#{anchor}" if anchor else url


def _page(
    request,
    actor: Actor,
    practitioner: Practitioner,
    *,
    rule_form: RuleForm | None = None,
    exception_form: ExceptionForm | None = None,
):
    zone = ZoneInfo(practitioner_time_zone(practitioner))
    today = timezone.localdate(timezone=zone)
    can_edit = can(actor, "availability.manage", practitioner)
    rules = list(availability_rule_list(actor=actor).filter(practitioner=practitioner))
    current = [r for r in rules if r.effective_to is None or r.effective_to >= today]
    for rule in rules:
        rule.ended = rule.effective_to is not None and rule.effective_to < today

    week = _week_start(request, zone)
    days = [week + timedelta(days=n) for n in range(7)]
    week_closed: dict[date, list[str]] = {}
    for entry in holidays_between(practitioner.organization, days[0], days[-1]):
        week_closed.setdefault(entry["date"], []).append(entry["name"])
    columns = [
        {"day": day, "name": label, "closed": week_closed.get(day, []), "today": day == today}
        for day, (_, label) in zip(days, WEEKDAYS, strict=True)
    ]

    exceptions = list(
        availability_exception_list(actor=actor)
        .filter(practitioner=practitioner, end__gte=timezone.now())
        .order_by("start")[:50]
    )
    show_reasons = bool(actor.roles & policy.CLINIC)
    for exception in exceptions:
        exception.local_start = wall(exception.start, zone)
        exception.local_end = wall(exception.end, zone)
        exception.shown_reason = exception.reason if show_reasons else ""

    if can_edit:
        rule_form = rule_form or _rule_form(
            actor, practitioner, initial={"start_time": time(9), "end_time": time(17)}
        )
        exception_form = exception_form or ExceptionForm(zone=zone)
    return render(
        request,
        "scheduling/availability.html",
        {
            "practitioner": practitioner,
            "is_own": practitioner.user_id == request.user.pk,
            "can_edit": can_edit,
            "can_manage_closures": can(actor, "closure.manage"),
            "zone_name": str(zone),
            "by_day": [
                {"name": label, "rules": [r for r in current if r.weekday == value]}
                for value, label in WEEKDAYS
            ],
            "rules": sorted(rules, key=lambda r: (r.weekday, r.start_time, r.pk)),
            "columns": columns,
            "grid": week_grid(rules, days, set(week_closed)),
            "week": week,
            "previous_week": week - timedelta(days=7),
            "next_week": week + timedelta(days=7),
            "is_this_week": week <= today < week + timedelta(days=7),
            "exceptions": exceptions,
            "holidays": holidays_between(
                practitioner.organization,
                today,
                today + timedelta(weeks=HOLIDAY_WEEKS) - timedelta(days=1),
            ),
            "holiday_weeks": HOLIDAY_WEEKS,
            "rule_form": rule_form,
            "exception_form": exception_form,
        },
    )


# --- Pages ----------------------------------------------------------------------------------


@login_required
def availability(request, pk: int):
    """The working week of a practitioner; an editor for those allowed."""
    actor, practitioner = _practitioner(request, pk)
    return _page(request, actor, practitioner)


@login_required
@require_POST
def availability_rule_add(request, pk: int):
    """Add the same hours on one or several weekdays (all or none)."""
    actor, practitioner = _editor(request, pk)
    form = _rule_form(actor, practitioner, request.POST)
    if form.is_valid():
        fields = dict(form.cleaned_data)
        weekdays = fields.pop("weekdays")
        try:
            added = availability_rules_create(
                actor=request.user, practitioner=practitioner, weekdays=weekdays, **fields
            )
        except (ApplicationError, ValidationError) as exc:
            form_errors_from(form, exc)
        else:
            days = ", ".join(rule.get_weekday_display() for rule in added)
            messages.success(
                request,
                f"Working hours {fields['start_time']:%H:%M}–{fields['end_time']:%H:%M} "
                f"added on {days}.",
            )
            return redirect(_availability_url(practitioner, "week-title"))
    return _page(request, actor, practitioner, rule_form=form)


@login_required
def availability_rule_edit(request, pk: int, rule_pk: int):
    """Change one weekly rule."""
    actor, practitioner = _editor(request, pk)
    rule = get_object_or_404(
        availability_rule_list(actor=actor).filter(practitioner=practitioner), pk=rule_pk
    )
    initial = {
        "weekday": rule.weekday,
        "start_time": rule.start_time,
        "end_time": rule.end_time,
        "location": rule.location_id,
        "effective_from": rule.effective_from,
        "effective_to": rule.effective_to,
        "services": [s.pk for s in rule.services.all()],
    }
    form = _rule_form(
        actor,
        practitioner,
        request.POST if request.method == "POST" else None,
        rule=rule,
        initial=initial,
        editing=True,
    )
    if request.method == "POST" and form.is_valid():
        try:
            availability_rule_save(
                actor=request.user, practitioner=practitioner, rule=rule, **form.cleaned_data
            )
        except (ApplicationError, ValidationError) as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, f"{rule.get_weekday_display()} hours saved.")
            return redirect(_availability_url(practitioner, "week-title"))
    return render(
        request,
        "scheduling/availability_rule_form.html",
        {"practitioner": practitioner, "rule": rule, "form": form},
    )


@login_required
@require_POST
def availability_rule_remove(request, pk: int, rule_pk: int):
    actor, practitioner = _editor(request, pk)
    rule = get_object_or_404(
        availability_rule_list(actor=actor).filter(practitioner=practitioner), pk=rule_pk
    )
    label = f"{rule.get_weekday_display()} {rule.start_time:%H:%M}–{rule.end_time:%H:%M}"
    availability_rule_delete(actor=request.user, rule=rule)
    messages.success(request, f"{label} removed. Appointments already booked stay booked.")
    return redirect(_availability_url(practitioner, "rules-title"))


@login_required
@require_POST
def availability_exception_add(request, pk: int):
    """Add time off or extra hours (local times of the practitioner's zone)."""
    actor, practitioner = _editor(request, pk)
    form = ExceptionForm(request.POST, zone=ZoneInfo(practitioner_time_zone(practitioner)))
    if form.is_valid():
        try:
            exception = availability_exception_save(
                actor=request.user, practitioner=practitioner, **form.cleaned_data
            )
        except (ApplicationError, ValidationError) as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, f"{exception.get_kind_display()} added.")
            return redirect(_availability_url(practitioner, "exceptions-title"))
    return _page(request, actor, practitioner, exception_form=form)


@login_required
@require_POST
def availability_exception_remove(request, pk: int, exception_pk: int):
    actor, practitioner = _editor(request, pk)
    exception = get_object_or_404(
        availability_exception_list(actor=actor).filter(practitioner=practitioner),
        pk=exception_pk,
    )
    availability_exception_delete(actor=request.user, exception=exception)
    messages.success(request, f"{exception.get_kind_display()} removed.")
    return redirect(_availability_url(practitioner, "exceptions-title"))


@login_required
def closures(request):
    """Working hours and closed days of the organization: every practitioner's schedule
    (links to their editor), closure days (admins add and remove them) and the public
    holidays of the coming year."""
    actor = authorize_page(request, "availability.view")
    organization = actor.organization
    if organization is None:
        raise Http404("Choose an organization first.")
    can_manage = can(actor, "closure.manage")
    form = ClosureForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        authorize_page(request, "closure.manage")
        if form.is_valid():
            try:
                closure = closure_save(
                    actor=request.user, organization=organization, **form.cleaned_data
                )
            except (ApplicationError, ValidationError) as exc:
                form_errors_from(form, exc)
            else:
                messages.success(request, f"Closed for {closure.reason}.")
                return redirect("closures")
    zone = ZoneInfo(organization.time_zone or "UTC")
    today = timezone.localdate(timezone=zone)
    public = [
        h
        for h in holidays_between(organization, today, today + timedelta(days=365))
        if h["kind"] == "public_holiday"
    ]
    return render(
        request,
        "scheduling/closures.html",
        {
            "organization": organization,
            "closures": closure_list(actor=actor).filter(end_date__gte=today),
            "practitioners": practitioner_list(actor=actor)
            .filter(is_active=True)
            .order_by("user__last_name", "user__first_name", "pk"),
            "public_holidays": public,
            "can_manage": can_manage,
            "form": form if can_manage else None,
        },
    )


@login_required
@require_POST
def closure_remove(request, closure_pk: int):
    actor = authorize_page(request, "closure.manage")
    closure = get_object_or_404(closure_list(actor=actor), pk=closure_pk)
    authorize_page(request, "closure.manage", closure)
    closure_delete(actor=request.user, closure=closure)
    messages.success(request, f"{closure.reason} removed: those days are open again.")
    return redirect("closures")

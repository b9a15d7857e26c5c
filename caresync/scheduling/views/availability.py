"""A practitioner's weekly working hours and time off."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from caresync.accounts.views import authorize_page
from caresync.directory.selectors import (
    practitioner_list,
)
from caresync.scheduling.models import AvailabilityRule
from caresync.scheduling.views.common import (
    organization_zone,
    wall,
)

GRID_STEP = timedelta(minutes=30)


def _minutes(moment) -> int:
    return moment.hour * 60 + moment.minute


@login_required
def availability(request, pk: int):
    """A practitioner's weekly working hours as a Monday–Sunday grid, and upcoming time off
    or extra hours. (Read-only: rules are edited through the API for now.)"""
    actor = authorize_page(request, "practitioner.list")
    practitioner = get_object_or_404(practitioner_list(actor=actor), pk=pk)
    authorize_page(request, "practitioner.view", practitioner)
    today = timezone.localdate(timezone=organization_zone(practitioner.organization))
    rules = [
        rule
        for rule in practitioner.availability_rules.select_related("location").prefetch_related(
            "services"
        )
        if rule.effective_to is None or rule.effective_to >= today
    ]
    first = min([_minutes(r.start_time) for r in rules] + [8 * 60])
    last = max([_minutes(r.end_time) for r in rules] + [18 * 60])
    first -= first % 30
    rows = []
    for start in range(first, last, 30):
        cells = []
        for weekday in range(7):
            covering = [
                r
                for r in rules
                if r.weekday == weekday
                and _minutes(r.start_time) < start + 30
                and _minutes(r.end_time) > start
            ]
            cells.append({"open": bool(covering), "weekday": weekday})
        rows.append(
            {
                "label": f"{start // 60:02d}:{start % 60:02d}",
                "hour": start % 60 == 0,
                "cells": cells,
            }
        )
    by_day = [
        {
            "name": label,
            "rules": [r for r in rules if r.weekday == value],
        }
        for value, label in AvailabilityRule.Weekday.choices
    ]
    zone = organization_zone(practitioner.organization)
    exceptions = list(
        practitioner.availability_exceptions.filter(end__gte=timezone.now()).order_by("start")[:20]
    )
    for exception in exceptions:
        exception.local_start = wall(exception.start, zone)
        exception.local_end = wall(exception.end, zone)
    return render(
        request,
        "scheduling/availability.html",
        {
            "practitioner": practitioner,
            "weekdays": [label for _, label in AvailabilityRule.Weekday.choices],
            "grid": rows,
            "by_day": by_day,
            "exceptions": exceptions,
            "zone_name": rules[0].location.time_zone if rules else str(zone),
            "is_own": practitioner.user_id == request.user.pk,
        },
    )

"""iCalendar downloads: a practitioner's secret feed URL (no sign-in: the token is the
credential), one appointment's ``.ics`` file, and the page that creates, replaces and
revokes the feed URL."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from caresync.accounts.views import authorize_page
from caresync.directory.selectors import patient_reads_record, practitioner_list
from caresync.scheduling.calendars import appointment_calendar, practitioner_calendar
from caresync.scheduling.selectors import (
    FEED_AHEAD,
    FEED_PAST,
    appointment_list,
    calendar_feed_appointments,
    calendar_feed_by_token,
    calendar_feed_current,
)
from caresync.scheduling.services import (
    calendar_feed_create,
    calendar_feed_record_use,
    calendar_feed_revoke,
)
from caresync.scheduling.views.common import appointment_zone, organization_zone, wall
from caresync.web.forms import StyledForm

CONTENT_TYPE = "text/calendar; charset=utf-8"
# Calendar apps poll; a short private cache spares repeated fetches, shared caches keep none.
FEED_CACHE_CONTROL = "private, max-age=300"


def site_root(request) -> str:
    return request.build_absolute_uri("/")


def feed_url(request, token: str) -> str:
    return request.build_absolute_uri(reverse("calendar-feed-ics", args=[token]))


@require_safe
def calendar_feed_ics(request, token: str):
    """A practitioner's appointments, 30 days back to 180 ahead, for calendar apps. Unknown
    and revoked tokens are 404; every fetch is audited and stamps ``last_used_at``."""
    feed = calendar_feed_by_token(token=token)
    if feed is None:
        raise Http404("No such calendar feed.")
    appointments = list(calendar_feed_appointments(feed=feed, now=timezone.now()))
    body = practitioner_calendar(
        feed.practitioner,
        appointments,
        organization_zone(feed.organization),
        base_url=site_root(request),
    )
    calendar_feed_record_use(
        actor=None, feed=feed, patient_ids=[appointment.patient_id for appointment in appointments]
    )
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Cache-Control"] = FEED_CACHE_CONTROL
    response["Content-Disposition"] = 'inline; filename="caresync.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response


@login_required
@require_safe
def appointment_ics(request, pk: int):
    """One appointment as an ``.ics`` attachment (anyone who may open the appointment)."""
    actor = authorize_page(request, "appointment.list")
    appointment = get_object_or_404(
        appointment_list(actor=actor).select_related("organization"), pk=pk
    )
    patient_reads_record(actor=actor, patients=[appointment.patient])
    body = appointment_calendar(
        appointment, appointment_zone(appointment), base_url=site_root(request)
    )
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="appointment-{appointment.pk}.ics"'
    response["Cache-Control"] = "private, no-store"
    return response


class CalendarFeedForm(StyledForm):
    action = forms.ChoiceField(
        choices=[("create", "Create or replace the URL"), ("revoke", "Revoke the URL")],
        widget=forms.HiddenInput,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def calendar_feed_settings(request, pk: int):
    """Create, replace or revoke a practitioner's feed URL. The URL is shown once, in the
    answer to the POST that made it: only its hash is stored."""
    actor = authorize_page(request, "practitioner.list")
    practitioner = get_object_or_404(practitioner_list(actor=actor), pk=pk)
    authorize_page(request, "calendar_feed.manage", practitioner)
    new_url = ""
    revoked = False
    status = 200
    if request.method == "POST":
        form = CalendarFeedForm(request.POST)
        if not form.is_valid():
            status = 400
        else:
            if form.cleaned_data["action"] == "create":
                _, token = calendar_feed_create(actor=request.user, practitioner=practitioner)
                new_url = feed_url(request, token)
            else:
                current = calendar_feed_current(practitioner=practitioner)
                if current is not None:
                    calendar_feed_revoke(actor=request.user, feed=current)
                    revoked = True
    feed = calendar_feed_current(practitioner=practitioner)
    zone = organization_zone(practitioner.organization)
    last_used = feed.last_used_at if feed else None
    response = render(
        request,
        "scheduling/calendar_feed.html",
        {
            "practitioner": practitioner,
            "feed": feed,
            "created_local": wall(feed.created_at, zone) if feed else None,
            "last_used_local": wall(last_used, zone) if last_used else None,
            "zone_name": str(zone),
            "new_url": new_url,
            "webcal_url": new_url.replace("https://", "webcal://", 1).replace(
                "http://", "webcal://", 1
            ),
            "revoked": revoked,
            "is_own": practitioner.user_id == request.user.pk,
            "past_days": FEED_PAST.days,
            "ahead_days": FEED_AHEAD.days,
        },
        status=status,
    )
    # The page may hold the secret URL: never store it in any cache.
    response["Cache-Control"] = "no-store"
    return response

from django.urls import path

from caresync.scheduling.views import appointments, availability, booking, calendar, reschedule
from caresync.scheduling.views import feeds as calendar_feeds
from caresync.scheduling.views import series as series_pages
from caresync.scheduling.views import waitlist as waitlist_pages

urlpatterns = [
    path("book/", booking.booking, name="booking"),
    path("book/series/", series_pages.booking_series, name="booking-series"),
    path(
        "appointments/<int:pk>/series-cancel/",
        series_pages.series_cancel,
        name="series-cancel",
    ),
    path("appointments/", appointments.appointments, name="appointment-list"),
    path("appointments/<int:pk>/", appointments.appointment_detail, name="appointment-detail"),
    path("appointments/<int:pk>/booked/", booking.booking_success, name="booking-success"),
    path(
        "appointments/<int:pk>/action/",
        appointments.appointment_action,
        name="appointment-action",
    ),
    path(
        "appointments/<int:pk>/reschedule/",
        reschedule.appointment_reschedule_page,
        name="appointment-reschedule",
    ),
    path("calendar/", calendar.calendar, name="calendar"),
    path("calendar/events.json", calendar.calendar_events, name="calendar-events"),
    path("calendar/resources.json", calendar.calendar_resources, name="calendar-resources"),
    path("calendar/book/", calendar.calendar_book, name="calendar-book"),
    path(
        "calendar/appointments/<int:pk>/move/",
        calendar.calendar_move,
        name="calendar-move",
    ),
    path("practitioners/<int:pk>/availability/", availability.availability, name="availability"),
    path(
        "practitioners/<int:pk>/availability/rules/",
        availability.availability_rule_add,
        name="availability-rule-add",
    ),
    path(
        "practitioners/<int:pk>/availability/rules/<int:rule_pk>/",
        availability.availability_rule_edit,
        name="availability-rule-edit",
    ),
    path(
        "practitioners/<int:pk>/availability/rules/<int:rule_pk>/delete/",
        availability.availability_rule_remove,
        name="availability-rule-delete",
    ),
    path(
        "practitioners/<int:pk>/availability/exceptions/",
        availability.availability_exception_add,
        name="availability-exception-add",
    ),
    path(
        "practitioners/<int:pk>/availability/exceptions/<int:exception_pk>/delete/",
        availability.availability_exception_remove,
        name="availability-exception-delete",
    ),
    path("settings/closures/", availability.closures, name="closures"),
    path(
        "settings/closures/<int:closure_pk>/delete/",
        availability.closure_remove,
        name="closure-delete",
    ),
    path(
        "calendar/feeds/<slug:token>.ics",
        calendar_feeds.calendar_feed_ics,
        name="calendar-feed-ics",
    ),
    path(
        "appointments/<int:pk>/calendar.ics",
        calendar_feeds.appointment_ics,
        name="appointment-ics",
    ),
    path(
        "practitioners/<int:pk>/calendar-feed/",
        calendar_feeds.calendar_feed_settings,
        name="calendar-feed",
    ),
    path("waitlist/", waitlist_pages.waitlist, name="waitlist"),
    path("waitlist/join/", waitlist_pages.waitlist_join_page, name="waitlist-join"),
    path("waitlist/<int:pk>/leave/", waitlist_pages.waitlist_leave_page, name="waitlist-leave"),
    path("waitlist/offers/<str:token>/", waitlist_pages.waitlist_offer, name="waitlist-offer"),
]

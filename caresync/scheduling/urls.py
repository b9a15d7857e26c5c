from django.urls import path

from caresync.scheduling import views

urlpatterns = [
    path("book/", views.booking, name="booking"),
    path("appointments/", views.appointments, name="appointment-list"),
    path("appointments/<int:pk>/", views.appointment_detail, name="appointment-detail"),
    path("appointments/<int:pk>/booked/", views.booking_success, name="booking-success"),
    path("appointments/<int:pk>/action/", views.appointment_action, name="appointment-action"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/events.json", views.calendar_events, name="calendar-events"),
    path("practitioners/<int:pk>/availability/", views.availability, name="availability"),
]

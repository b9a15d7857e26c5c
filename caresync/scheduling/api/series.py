"""Recurring appointment series API: preview, all-or-nothing booking, cancelling and moving
the rest of a series. Single occurrences are ordinary appointments (``/appointments/``)."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from caresync.accounts.permissions import ActorScopedViewMixin, request_actor
from caresync.accounts.selectors import require_organization
from caresync.core import policy
from caresync.core.errors import ApplicationError
from caresync.core.policy import Actor
from caresync.core.rest import ModelSerializer, StrictSerializer
from caresync.directory.selectors import (
    patient_list,
    patient_reads_record,
    practitioner_list,
    service_list,
)
from caresync.scheduling.api.idempotency import booking_response
from caresync.scheduling.models import Appointment, AppointmentSeries
from caresync.scheduling.selectors import appointment_list, appointment_series_list
from caresync.scheduling.services import (
    appointment_series_book,
    appointment_series_cancel,
    appointment_series_preview,
    appointment_series_reschedule,
)


class OccurrenceOutput(ModelSerializer):
    class Meta:
        model = Appointment
        fields = ["id", "start", "end", "status"]


class AppointmentSeriesOutput(ModelSerializer):
    service_name = serializers.CharField(source="service.name", read_only=True)
    practitioner_name = serializers.CharField(source="practitioner.__str__", read_only=True)
    patient_name = serializers.CharField(source="patient.display_name", read_only=True)
    occurrences = OccurrenceOutput(source="appointments", many=True, read_only=True)

    class Meta:
        model = AppointmentSeries
        fields = [
            "id",
            "status",
            "rrule",
            "first_start",
            "time_zone",
            "patient",
            "patient_name",
            "practitioner",
            "practitioner_name",
            "service",
            "service_name",
            "reason",
            "created_at",
            "occurrences",
        ]


class SeriesBookInput(StrictSerializer):
    patient = serializers.IntegerField(required=False, help_text="Patients: omit (themselves).")
    practitioner = serializers.IntegerField()
    service = serializers.IntegerField()
    first_start = serializers.DateTimeField(help_text="The first occurrence, with its offset.")
    rrule = serializers.CharField(
        max_length=500,
        help_text="RFC 5545 RRULE: FREQ=WEEKLY with optional INTERVAL and BYDAY and exactly "
        "one of COUNT (at most 52) or UNTIL (20260601 or 20260601T230000Z).",
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class AlternativeOutput(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    practitioner = serializers.IntegerField()


class OccurrenceCheckOutput(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    bookable = serializers.BooleanField()
    code = serializers.CharField(help_text="Why not: slot_unavailable, outside_availability, …")
    message = serializers.CharField()
    alternatives = AlternativeOutput(many=True)


class SeriesPreviewOutput(serializers.Serializer):
    bookable = serializers.BooleanField(help_text="Every occurrence can be booked.")
    occurrences = OccurrenceCheckOutput(many=True)


class SeriesCancelInput(StrictSerializer):
    from_appointment = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Cancel from this occurrence on; null: every occurrence not yet started.",
    )
    only_this = serializers.BooleanField(
        required=False, default=False, help_text="Cancel only ``from_appointment``."
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class SeriesRescheduleInput(StrictSerializer):
    from_appointment = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Move from this occurrence on; null: every occurrence not yet started.",
    )
    time = serializers.TimeField(help_text="New local time of day, in the series' time zone.")
    days = serializers.IntegerField(
        required=False, default=0, min_value=-6, max_value=6, help_text="Days later (or earlier)."
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


SERIES_CONFLICT = OpenApiResponse(
    description="``series_conflict``: nothing was booked or moved; ``conflicts`` lists each "
    "refused occurrence with its code and up to three alternatives."
)


class AppointmentSeriesViewSet(
    ActorScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Recurring series. POST books every occurrence or none (409 ``series_conflict``);
    ``preview/`` says which occurrences are free without booking. Send an
    ``Idempotency-Key`` header so a retried POST never books twice."""

    serializer_class = AppointmentSeriesOutput
    filterset_fields = {"status": ["exact"], "patient": ["exact"], "practitioner": ["exact"]}
    ordering_fields = ["created_at", "first_start"]
    scoped_model = AppointmentSeries
    policy = {
        "list": "appointment.list",
        "retrieve": "appointment.list",
        "create": "appointment.book",
        "preview": "appointment.book",
        "cancel": "appointment.cancel",
        "reschedule": "appointment.reschedule",
    }

    def scoped_queryset(self, actor):
        return appointment_series_list(actor=actor)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        shown = self.get_queryset().filter(pk__in=[row["id"] for row in response.data["results"]])
        patients = {series.patient_id: series.patient for series in shown}
        patient_reads_record(actor=request_actor(request), patients=patients.values())
        return response

    def retrieve(self, request, *args, **kwargs):
        series = self.get_object()
        patient_reads_record(actor=request_actor(request), patients=[series.patient])
        return Response(self.get_serializer(series).data)

    def _resolved(self, actor: Actor, fields: dict) -> dict:
        """The patient, practitioner and service the actor may book with, else 404."""
        patients = patient_list(actor=actor)
        if "patient" in fields:
            patient = patients.filter(pk=fields["patient"]).first()
        elif policy.PATIENT in actor.roles:
            patient = patients.first()
        else:
            raise ApplicationError(
                "Choose the patient.",
                code="validation_error",
                fields={"patient": [{"code": "required", "message": "This field is required."}]},
            )
        practitioner = (
            practitioner_list(actor=actor).filter(pk=fields["practitioner"], is_active=True).first()
        )
        service = service_list(actor=actor).filter(pk=fields["service"]).first()
        if patient is None or practitioner is None or service is None:
            raise ApplicationError(
                "Patient, practitioner or service not found.", code="not_found", status_code=404
            )
        return {
            "organization": require_organization(actor),
            "patient": patient,
            "practitioner": practitioner,
            "service": service,
            "first_start": fields["first_start"],
            "rrule": fields["rrule"],
        }

    @extend_schema(
        request=SeriesBookInput,
        responses={201: AppointmentSeriesOutput, 409: SERIES_CONFLICT},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
    )
    def create(self, request):
        data = SeriesBookInput(data=request.data)
        data.is_valid(raise_exception=True)
        actor = request_actor(request)
        return booking_response(
            request,
            payload={"series": dict(request.data)},
            handler=lambda: self._book(actor, data.validated_data),
        )

    def _book(self, actor: Actor, fields: dict):
        series = appointment_series_book(
            actor=actor.user, reason=fields.get("reason", ""), **self._resolved(actor, fields)
        )
        series = self.get_queryset().get(pk=series.pk)
        return status.HTTP_201_CREATED, AppointmentSeriesOutput(series).data

    @extend_schema(request=SeriesBookInput, responses=SeriesPreviewOutput)
    @action(detail=False, methods=["post"])
    def preview(self, request):
        """Which occurrences of a would-be series are free, and alternatives for those that
        are not. Books nothing."""
        data = SeriesBookInput(data=request.data)
        data.is_valid(raise_exception=True)
        checks = appointment_series_preview(
            **self._resolved(request_actor(request), data.validated_data)
        )
        return Response(
            {
                "bookable": all(check.bookable for check in checks),
                "occurrences": [check.payload() for check in checks],
            }
        )

    def _occurrence(self, actor: Actor, pk: int | None) -> Appointment | None:
        if pk is None:
            return None
        appointment = appointment_list(actor=actor).filter(pk=pk).first()
        if appointment is None:
            raise ApplicationError(
                "That appointment is not part of this series.",
                code="not_in_series",
                fields={"from_appointment": [{"code": "not_found", "message": "Not found."}]},
            )
        return appointment

    def _done(self, series: AppointmentSeries) -> Response:
        return Response(AppointmentSeriesOutput(self.get_queryset().get(pk=series.pk)).data)

    @extend_schema(request=SeriesCancelInput, responses=AppointmentSeriesOutput)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel one occurrence (``only_this``) or it and every following one (all or
        nothing: a patient inside the cancellation window for one cancels none)."""
        data = SeriesCancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        actor = request_actor(request)
        series = appointment_series_cancel(
            actor=request.user,
            series=self.get_object(),
            from_appointment=self._occurrence(actor, fields.get("from_appointment")),
            only_this=fields["only_this"],
            reason=fields.get("reason", ""),
            by_patient=not (actor.roles & policy.CLINIC),
        )
        return self._done(series)

    @extend_schema(
        request=SeriesRescheduleInput,
        responses={200: AppointmentSeriesOutput, 409: SERIES_CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        """Move the rest of the series to another local time (and weekday offset), all or
        nothing. To move one occurrence, reschedule that appointment."""
        data = SeriesRescheduleInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        actor = request_actor(request)
        series = appointment_series_reschedule(
            actor=request.user,
            series=self.get_object(),
            from_appointment=self._occurrence(actor, fields.get("from_appointment")),
            at=fields["time"],
            days=fields["days"],
            reason=fields.get("reason", ""),
            by_patient=not (actor.roles & policy.CLINIC),
        )
        return self._done(series)

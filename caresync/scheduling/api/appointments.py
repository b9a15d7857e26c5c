"""Appointments API: idempotent booking, the lifecycle and the seed 002 lists."""

from datetime import time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from caresync.accounts.permissions import ActorScopedViewMixin, request_actor
from caresync.accounts.selectors import require_organization
from caresync.core import policy
from caresync.core.errors import ApplicationError
from caresync.core.querytemplates import ScopedLookup, together
from caresync.core.rest import ModelSerializer, StrictSerializer
from caresync.directory.selectors import patient_list, practitioner_list, service_list
from caresync.scheduling.api.idempotency import booking_response
from caresync.scheduling.models import Appointment
from caresync.scheduling.selectors import appointment_analytics, appointment_list
from caresync.scheduling.services import (
    appointment_book,
    appointment_reschedule,
    appointment_transition,
    appointment_update,
)
from caresync.scheduling.slots import local_instant


class AppointmentOutput(ModelSerializer):
    service_name = serializers.CharField(source="service.name", read_only=True)
    practitioner_name = serializers.CharField(source="practitioner.__str__", read_only=True)
    patient_name = serializers.CharField(source="patient.display_name", read_only=True)

    class Meta:
        model = Appointment
        fields = [
            "id",
            "status",
            "start",
            "end",
            "patient",
            "patient_name",
            "practitioner",
            "practitioner_name",
            "service",
            "service_name",
            "location",
            "reason",
            "notes",
            "hold_expires_at",
            "created_at",
        ]


# A booking's reads, built once (see querytemplates); without the listings' prefetches.
_PATIENT = ScopedLookup(patient_list)
_SERVICE = ScopedLookup(service_list)
_PRACTITIONER = ScopedLookup(practitioner_list, is_active=True)


def _refuse_unless_found(pk, practitioner) -> None:
    """The practitioner a client chose (``pk``; None: any) must be one it may book."""
    if pk is not None and practitioner is None:
        raise ApplicationError("Practitioner not found.", code="not_found", status_code=404)


class AppointmentBookInput(StrictSerializer):
    patient = serializers.IntegerField(required=False)
    practitioner = serializers.IntegerField(required=False, allow_null=True)
    service = serializers.IntegerField()
    start = serializers.DateTimeField()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class TransitionInput(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class MoveInput(StrictSerializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(required=False, help_text="Staff: resize the visit.")
    practitioner = serializers.IntegerField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class AppointmentUpdateInput(StrictSerializer):
    """PUT/PATCH (seed 002): a new ``start`` or ``practitioner`` reschedules; ``reason`` and
    ``notes`` are edited in place."""

    start = serializers.DateTimeField(required=False)
    practitioner = serializers.IntegerField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class AnalyticsQuery(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First day (default: 30 days ago).")
    end = serializers.DateField(required=False, help_text="Last day (default: today).")
    practitioner = serializers.IntegerField(required=False)

    def validate(self, data):
        if "start" in data and "end" in data:
            if data["end"] < data["start"]:
                raise serializers.ValidationError({"end": "Must not be before start."})
            if (data["end"] - data["start"]).days > 366:
                raise serializers.ValidationError({"end": "Ask for at most a year at a time."})
        return data


class PractitionerUtilization(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    appointments = serializers.IntegerField()
    booked_minutes = serializers.IntegerField()
    available_minutes = serializers.IntegerField()
    utilization = serializers.FloatField(allow_null=True)


class AnalyticsOutput(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    time_zone = serializers.CharField()
    total = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())
    no_show_rate = serializers.FloatField(allow_null=True)
    cancellation_rate = serializers.FloatField(allow_null=True)
    practitioners = PractitionerUtilization(many=True)


TRANSITION_ACTIONS = {
    "confirm": "confirm",
    "complete": "complete",
    "cancel": "cancel",
    "approve": "approve",
    "reject": "reject",
    "check_in": "check_in",
    "start": "start",
    "no_show": "no_show",
    "accept_proposal": "accept",
    "decline_proposal": "decline",
}


class AppointmentViewSet(
    ActorScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Appointments. POST books through the one booking service; send an ``Idempotency-Key``
    header so a retried request never books twice. PUT/PATCH edit the reason and notes or
    move the appointment (a new ``start``/``practitioner``); DELETE cancels."""

    serializer_class = AppointmentOutput
    filterset_fields = {
        "status": ["exact", "in"],
        "practitioner": ["exact"],
        "patient": ["exact"],
        "service": ["exact"],
        "start": ["gte", "lt"],
    }
    ordering_fields = ["start", "created_at"]
    scoped_model = Appointment
    policy = {
        "list": "appointment.list",
        "retrieve": "appointment.list",
        "create": "appointment.book",
        "destroy": "appointment.cancel",
        "update": "appointment.reschedule",
        "partial_update": "appointment.reschedule",
        "reschedule": "appointment.reschedule",
        "propose": "appointment.manage",
        "upcoming": "appointment.list",
        "past": "appointment.list",
        "today": "appointment.list",
        "analytics": "appointment.analytics",
        "cancel": "appointment.cancel",
        "confirm": "appointment.confirm",
        "accept_proposal": "appointment.confirm",
        "decline_proposal": "appointment.confirm",
        "approve": "appointment.manage",
        "reject": "appointment.manage",
        "check_in": "appointment.manage",
        "start": "appointment.manage",
        "complete": "appointment.manage",
        "no_show": "appointment.manage",
    }

    def scoped_queryset(self, actor):
        return appointment_list(actor=actor)

    @extend_schema(
        request=AppointmentBookInput,
        responses={201: AppointmentOutput},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
    )
    def create(self, request):
        data = AppointmentBookInput(data=request.data)
        data.is_valid(raise_exception=True)
        actor = request_actor(request)
        return booking_response(
            request,
            payload=dict(request.data),
            handler=lambda: self._book(actor, data.validated_data),
        )

    def _book(self, actor, fields):
        organization = require_organization(actor)
        if "patient" not in fields and policy.PATIENT not in actor.roles:
            raise ApplicationError(
                "Choose the patient.",
                code="validation_error",
                fields={"patient": [{"code": "required", "message": "This field is required."}]},
            )
        chosen = fields.get("practitioner")
        # The three in one round trip.
        patient, service, practitioner = together(
            _PATIENT.read(actor=actor, pk=fields["patient"]) if "patient" in fields else None,
            _SERVICE.read(actor=actor, pk=fields["service"]),
            None if chosen is None else _PRACTITIONER.read(actor=actor, pk=chosen),
        )
        if "patient" not in fields:  # patients booking for themselves
            patient = patient_list(actor=actor).first()
        _refuse_unless_found(chosen, practitioner)
        if patient is None or service is None:
            raise ApplicationError(
                "Patient or service not found.", code="not_found", status_code=404
            )
        appointment = appointment_book(
            actor=actor.user,
            organization=organization,
            patient=patient,
            service=service,
            start=fields["start"],
            practitioner=practitioner,
            reason=fields.get("reason", ""),
            notes=fields.get("notes", ""),
        )
        return status.HTTP_201_CREATED, AppointmentOutput(appointment).data

    def destroy(self, request, pk=None):
        return self._transition(request, "cancel")

    def _practitioner(self, actor, pk):
        practitioner = None if pk is None else _PRACTITIONER.get(actor=actor, pk=pk)
        _refuse_unless_found(pk, practitioner)
        return practitioner

    def _move(self, request, *, propose: bool):
        data = MoveInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        actor = request_actor(request)
        appointment = appointment_reschedule(
            actor=request.user,
            appointment=self.get_object(),
            start=fields["start"],
            end=fields.get("end"),
            practitioner=self._practitioner(actor, fields.get("practitioner")),
            reason=fields.get("reason", ""),
            by_patient=not (actor.roles & policy.CLINIC),
            propose=propose,
        )
        return Response(AppointmentOutput(appointment).data)

    @extend_schema(request=MoveInput, responses=AppointmentOutput)
    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        """Move the appointment to another time (and optionally practitioner). 409
        ``slot_unavailable`` with alternatives when the time is taken."""
        return self._move(request, propose=False)

    @extend_schema(request=MoveInput, responses=AppointmentOutput)
    @action(detail=True, methods=["post"])
    def propose(self, request, pk=None):
        """Practitioners: offer another time for a request; the patient accepts or declines."""
        return self._move(request, propose=True)

    @extend_schema(request=AppointmentUpdateInput, responses=AppointmentOutput)
    def update(self, request, pk=None, partial=False):
        data = AppointmentUpdateInput(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        actor = request_actor(request)
        if not partial and "start" not in fields:
            raise ApplicationError(
                "PUT needs the appointment's start; use PATCH to change single fields.",
                code="validation_error",
                fields={"start": [{"code": "required", "message": "This field is required."}]},
            )
        appointment = appointment_update(
            actor=request.user,
            appointment=self.get_object(),
            start=fields.get("start"),
            practitioner=self._practitioner(actor, fields.get("practitioner")),
            reason=fields.get("reason"),
            notes=fields.get("notes"),
            by_patient=not (actor.roles & policy.CLINIC),
        )
        return Response(AppointmentOutput(appointment).data)

    @extend_schema(request=AppointmentUpdateInput, responses=AppointmentOutput)
    def partial_update(self, request, pk=None):
        return self.update(request, pk=pk, partial=True)

    def _transition(self, request, name: str):
        data = TransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        actor = request_actor(request)
        appointment = appointment_transition(
            actor=request.user,
            appointment=self.get_object(),
            action=name,
            reason=data.validated_data.get("reason", ""),
            by_patient=not (actor.roles & policy.CLINIC),
        )
        return Response(AppointmentOutput(appointment).data)

    def _list(self, request, queryset):
        page = self.paginate_queryset(self.filter_queryset(queryset))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @action(detail=False, methods=["get"])
    def upcoming(self, request):
        """Blocking appointments from now on."""
        return self._list(
            request,
            self.get_queryset().filter(start__gte=timezone.now(), status__in=Appointment.BLOCKING),
        )

    @action(detail=False, methods=["get"])
    def past(self, request):
        return self._list(
            request, self.get_queryset().filter(start__lt=timezone.now()).order_by("-start")
        )

    @action(detail=False, methods=["get"])
    def today(self, request):
        """Today's appointments, in the organization's time zone."""
        organization = require_organization(request_actor(request))
        zone = ZoneInfo(organization.time_zone)
        today = timezone.localdate(timezone=zone)
        return self._list(
            request,
            self.get_queryset().filter(
                start__gte=local_instant(today, time(0), zone),
                start__lt=local_instant(today + timedelta(days=1), time(0), zone),
            ),
        )

    @extend_schema(parameters=[AnalyticsQuery], responses=AnalyticsOutput)
    @action(detail=False, methods=["get"])
    def analytics(self, request):
        """Counts by status, no-show rate (no-shows ÷ visits attended or missed), cancellation
        rate and utilization per practitioner (booked ÷ working minutes) for organization-local
        days ``start``–``end``."""
        params = AnalyticsQuery(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        organization = require_organization(request_actor(request))
        today = timezone.localdate(timezone=ZoneInfo(organization.time_zone))
        last = data.get("end") or today
        first = data.get("start") or last - timedelta(days=30)
        if (last - first).days > 366:
            first = last - timedelta(days=366)
        report = appointment_analytics(
            organization=organization,
            first=first,
            last=last,
            practitioner_ids=[data["practitioner"]] if "practitioner" in data else None,
        )
        return Response(AnalyticsOutput(report).data)


def _transition_action(name: str, verb: str, url_path: str):
    def handler(self, request, pk=None):
        return self._transition(request, verb)

    # Named before @action sees it: the router maps the HTTP method to this name.
    handler.__name__ = name
    handler.__doc__ = f"POST: {verb.replace('_', ' ')} the appointment."
    handler = action(detail=True, methods=["post"], url_path=url_path, url_name=url_path)(handler)
    return extend_schema(request=TransitionInput, responses=AppointmentOutput)(handler)


for _name, _verb in TRANSITION_ACTIONS.items():
    setattr(AppointmentViewSet, _name, _transition_action(_name, _verb, _name.replace("_", "-")))

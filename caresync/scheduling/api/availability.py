"""Availability API: weekly rules, exceptions and closures; seed 002's doctor schedules,
appointments and available slots; the organization's closed days (holidays)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import django_filters
from django import forms
from django.utils import timezone
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import FilterSet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from caresync.accounts.permissions import ActorScopedViewMixin, request_actor
from caresync.accounts.selectors import require_organization
from caresync.core import policy
from caresync.core.errors import ApplicationError
from caresync.core.policy import authorize
from caresync.core.rest import ModelSerializer, StrictModelSerializer
from caresync.directory.models import Location, Practitioner, Service
from caresync.directory.selectors import (
    location_list,
    patient_reads_record,
    practitioner_list,
    service_list,
)
from caresync.scheduling.api.appointments import AppointmentOutput
from caresync.scheduling.models import (
    Appointment,
    AvailabilityException,
    AvailabilityRule,
    Closure,
)
from caresync.scheduling.selectors import (
    appointment_list,
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
    closure_delete,
    closure_save,
    slots_search,
)
from caresync.scheduling.slots import Interval

MAX_SLOT_WINDOW = timedelta(days=31)
# Dates far outside any schedule would overflow date arithmetic (a day either side).
FIRST_YEAR, LAST_YEAR = 1900, 2199
YEARS_MESSAGE = f"Choose a time between {FIRST_YEAR} and {LAST_YEAR}."
MAX_HOLIDAY_DAYS = 366
HOLIDAY_DEFAULT_DAYS = 56


def _not_found(what: str) -> ApplicationError:
    return ApplicationError(f"{what} not found.", code="not_found", status_code=404)


def _practitioner(actor, pk, *, kind: str | None = None) -> Practitioner:
    """A practitioner of the actor's organization (of ``kind`` when given), else 404."""
    practitioners = practitioner_list(actor=actor)
    if kind:
        practitioners = practitioners.filter(kind=kind)
    found = practitioners.filter(pk=pk).first() if isinstance(pk, int) else None
    if found is None:
        raise _not_found("Doctor" if kind == Practitioner.Kind.DOCTOR else "Practitioner")
    return found


def _sensible_year(value):
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise serializers.ValidationError(YEARS_MESSAGE, code="out_of_range")


class _SensibleIsoDateTimeField(IsoDateTimeField):
    def clean(self, value):
        value = super().clean(value)
        if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise forms.ValidationError(YEARS_MESSAGE, code="out_of_range")
        return value


class InstantFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 instant filter that refuses years no schedule reaches (400, not 500)."""

    field_class = _SensibleIsoDateTimeField


class _PractitionerRef(serializers.Serializer):
    practitioner = serializers.IntegerField()


class OffsetDateTimeField(serializers.DateTimeField):
    """An ISO 8601 instant that must carry its UTC offset (no guessing the zone)."""

    default_error_messages = {"naive": "Give the time with its UTC offset, e.g. +11:00 or Z."}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validators", []).append(_sensible_year)
        super().__init__(*args, **kwargs)

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


# --- Weekly rules --------------------------------------------------------------------------


class AvailabilityRuleSerializer(StrictModelSerializer):
    practitioner = serializers.IntegerField(source="practitioner_id")
    practitioner_name = serializers.CharField(source="practitioner.__str__", read_only=True)
    location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.none())
    location_name = serializers.CharField(source="location.name", read_only=True)
    time_zone = serializers.CharField(source="location.time_zone", read_only=True)
    weekday_name = serializers.CharField(source="get_weekday_display", read_only=True)
    services = serializers.PrimaryKeyRelatedField(
        many=True,
        required=False,
        queryset=Service.objects.none(),
        help_text="Only these services (empty: every service).",
    )

    class Meta:
        model = AvailabilityRule
        fields = [
            "id",
            "practitioner",
            "practitioner_name",
            "weekday",
            "weekday_name",
            "start_time",
            "end_time",
            "location",
            "location_name",
            "time_zone",
            "effective_from",
            "effective_to",
            "services",
        ]
        read_only_fields = ["id"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        actor = self.context.get("actor")
        if actor is not None:
            self.fields["location"].queryset = location_list(actor=actor)
            self.fields["services"].child_relation.queryset = service_list(actor=actor)


class _ScheduleViewSet(ActorScopedViewMixin, viewsets.ModelViewSet):
    """Shared plumbing: the serializer gets the actor; writes go through services."""

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["actor"] = request_actor(self.request)
        return context

    def _input(self, request, instance=None, partial=False):
        data = self.get_serializer(instance, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        return dict(data.validated_data)

    def _new_for(self, request) -> tuple[Practitioner, dict]:
        """The practitioner a new rule or exception is for (404 outside the organization,
        403 when not the caller's to manage; checked before the other fields) and the
        validated fields."""
        actor = request_actor(request)

        def manageable(pk) -> Practitioner:
            practitioner = _practitioner(actor, pk)
            authorize(actor, "availability.manage", practitioner)
            return practitioner

        named = _PractitionerRef(data=request.data)
        practitioner = (
            manageable(named.validated_data["practitioner"]) if named.is_valid() else None
        )
        fields = self._input(request)
        wanted = fields.pop("practitioner_id")
        return practitioner or manageable(wanted), fields

    @staticmethod
    def _same_practitioner(fields: dict, current: Practitioner) -> Practitioner:
        """An update keeps its practitioner."""
        wanted = fields.pop("practitioner_id", current.pk)
        if wanted != current.pk:
            raise ApplicationError(
                "Some fields are invalid.",
                code="validation_error",
                fields={
                    "practitioner": [
                        {"code": "immutable", "message": "Cannot move to another practitioner."}
                    ]
                },
            )
        return current

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


class AvailabilityRuleViewSet(_ScheduleViewSet):
    """Weekly working hours: local wall times at a location, on a weekday (0 = Monday),
    optionally limited to an effective date range and to some services. Several intervals
    a day are fine; overlapping ones for the same practitioner and weekday (with overlapping
    effective periods) are refused with ``400 availability_overlap``. Practitioners edit
    their own; organization admins anyone's."""

    serializer_class = AvailabilityRuleSerializer
    scoped_model = AvailabilityRule
    filterset_fields = ["practitioner", "weekday", "location"]
    ordering_fields = ["weekday", "start_time", "practitioner"]
    policy = {
        "list": "availability.view",
        "retrieve": "availability.view",
        "create": "availability.manage",
        "update": "availability.manage",
        "partial_update": "availability.manage",
        "destroy": "availability.manage",
    }

    def scoped_queryset(self, actor):
        return availability_rule_list(actor=actor)

    def create(self, request, *args, **kwargs):
        practitioner, fields = self._new_for(request)
        rule = availability_rule_save(actor=request.user, practitioner=practitioner, **fields)
        return Response(self.get_serializer(rule).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        rule = self.get_object()
        fields = self._input(request, rule, partial)
        practitioner = self._same_practitioner(fields, rule.practitioner)
        rule = availability_rule_save(
            actor=request.user, practitioner=practitioner, rule=rule, **fields
        )
        return Response(self.get_serializer(rule).data)

    def destroy(self, request, *args, **kwargs):
        availability_rule_delete(actor=request.user, rule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Exceptions ----------------------------------------------------------------------------


class AvailabilityExceptionSerializer(StrictModelSerializer):
    practitioner = serializers.IntegerField(source="practitioner_id")
    practitioner_name = serializers.CharField(source="practitioner.__str__", read_only=True)
    start = OffsetDateTimeField()
    end = OffsetDateTimeField()

    class Meta:
        model = AvailabilityException
        fields = ["id", "practitioner", "practitioner_name", "kind", "start", "end", "reason"]
        read_only_fields = ["id"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        actor = self.context.get("actor")
        if actor is not None and not actor.roles & policy.CLINIC:
            data["reason"] = ""  # why someone is away is the clinic's business
        return data


class AvailabilityExceptionFilter(FilterSet):
    start__gte = InstantFilter(field_name="start", lookup_expr="gte")
    start__lt = InstantFilter(field_name="start", lookup_expr="lt")
    end__gt = InstantFilter(field_name="end", lookup_expr="gt")
    end__lte = InstantFilter(field_name="end", lookup_expr="lte")

    class Meta:
        model = AvailabilityException
        fields = ["practitioner", "kind"]


class AvailabilityExceptionViewSet(_ScheduleViewSet):
    """Time off (leave, meetings: ``time_off``) and extra working time (``extra``) as
    absolute intervals (ISO 8601 with offset). Extra time also opens public holidays and
    closure days for booking."""

    serializer_class = AvailabilityExceptionSerializer
    scoped_model = AvailabilityException
    filterset_class = AvailabilityExceptionFilter
    ordering_fields = ["start", "end"]
    policy = {
        "list": "availability.view",
        "retrieve": "availability.view",
        "create": "availability.manage",
        "update": "availability.manage",
        "partial_update": "availability.manage",
        "destroy": "availability.manage",
    }

    def scoped_queryset(self, actor):
        return availability_exception_list(actor=actor)

    def create(self, request, *args, **kwargs):
        practitioner, fields = self._new_for(request)
        exception = availability_exception_save(
            actor=request.user, practitioner=practitioner, **fields
        )
        return Response(self.get_serializer(exception).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        exception = self.get_object()
        fields = self._input(request, exception, partial)
        practitioner = self._same_practitioner(fields, exception.practitioner)
        exception = availability_exception_save(
            actor=request.user, practitioner=practitioner, exception=exception, **fields
        )
        return Response(self.get_serializer(exception).data)

    def destroy(self, request, *args, **kwargs):
        availability_exception_delete(actor=request.user, exception=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Closures ------------------------------------------------------------------------------


class ClosureSerializer(StrictModelSerializer):
    end_date = serializers.DateField(
        required=False, allow_null=True, help_text="Last closed day (default: the first)."
    )

    class Meta:
        model = Closure
        fields = ["id", "start_date", "end_date", "reason"]
        read_only_fields = ["id"]


class ClosureViewSet(_ScheduleViewSet):
    """Days the organization is closed besides public holidays (organization-local dates,
    inclusive). Every member may read them; organization admins change them."""

    serializer_class = ClosureSerializer
    scoped_model = Closure
    filterset_fields = {"start_date": ["gte", "lte"], "end_date": ["gte", "lte"]}
    ordering_fields = ["start_date"]
    policy = {
        "list": "availability.view",
        "retrieve": "availability.view",
        "create": "closure.manage",
        "update": "closure.manage",
        "partial_update": "closure.manage",
        "destroy": "closure.manage",
    }

    def scoped_queryset(self, actor):
        return closure_list(actor=actor)

    def create(self, request, *args, **kwargs):
        fields = self._input(request)
        closure = closure_save(
            actor=request.user,
            organization=require_organization(request_actor(request)),
            **fields,
        )
        return Response(self.get_serializer(closure).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        closure = self.get_object()
        fields = self._input(request, closure, partial)
        closure = closure_save(
            actor=request.user, organization=closure.organization, closure=closure, **fields
        )
        return Response(self.get_serializer(closure).data)

    def destroy(self, request, *args, **kwargs):
        closure_delete(actor=request.user, closure=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Seed 002: /doctors/{id}/schedules|appointments|available-slots/ ------------------------


class ScheduleOutput(ModelSerializer):
    """Seed 002's DoctorSchedule (``day_of_week``, ``start_time``, ``end_time``,
    ``is_available``) with CareSync's rule fields."""

    doctor = serializers.IntegerField(source="practitioner_id", read_only=True)
    day_of_week = serializers.IntegerField(source="weekday", read_only=True)
    day_name = serializers.CharField(source="get_weekday_display", read_only=True)
    is_available = serializers.SerializerMethodField()
    location_name = serializers.CharField(source="location.name", read_only=True)
    time_zone = serializers.CharField(source="location.time_zone", read_only=True)
    services = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = AvailabilityRule
        fields = [
            "id",
            "doctor",
            "day_of_week",
            "day_name",
            "start_time",
            "end_time",
            "is_available",
            "location",
            "location_name",
            "time_zone",
            "effective_from",
            "effective_to",
            "services",
        ]

    def get_is_available(self, rule) -> bool:
        return True  # a weekly rule is working time; time off is an availability exception


class _OnePractitionerMixin:
    """``/doctors/{pk}/…`` (kind doctor) or ``/practitioners/{pk}/…`` (any kind)."""

    practitioner_kind: str | None = None

    def target(self) -> Practitioner:
        cached = getattr(self, "_target", None)
        if cached is None:
            cached = _practitioner(
                request_actor(self.request), self.kwargs["pk"], kind=self.practitioner_kind
            )
            self._target = cached
        return cached


class DoctorSchedulesView(_OnePractitionerMixin, generics.ListAPIView):
    """The doctor's weekly working hours (``day_of_week`` 0 = Monday, local times in
    ``time_zone``). ``?current=true``: only rules in effect today or later."""

    serializer_class = ScheduleOutput
    ordering_fields = ["weekday", "start_time"]
    practitioner_kind = Practitioner.Kind.DOCTOR
    policy = {"GET": "availability.view"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AvailabilityRule.objects.none()
        practitioner = self.target()
        rules = availability_rule_list(actor=request_actor(self.request)).filter(
            practitioner=practitioner
        )
        if self.request.query_params.get("current", "").lower() in ("1", "true", "yes"):
            today = timezone.localdate(timezone=ZoneInfo(practitioner_time_zone(practitioner)))
            rules = rules.exclude(effective_to__lt=today)
        return rules.order_by("weekday", "start_time", "pk")


class PractitionerAppointmentFilter(FilterSet):
    start__gte = InstantFilter(field_name="start", lookup_expr="gte")
    start__lt = InstantFilter(field_name="start", lookup_expr="lt")

    class Meta:
        model = Appointment
        fields = {"status": ["exact", "in"]}


class DoctorAppointmentsView(_OnePractitionerMixin, generics.ListAPIView):
    """The doctor's appointments that the caller may see (patients: their own), paginated;
    filters ``status``, ``status__in``, ``start__gte``, ``start__lt``. Every patient shown
    is audited as a read."""

    serializer_class = AppointmentOutput
    filterset_class = PractitionerAppointmentFilter
    ordering_fields = ["start", "created_at"]
    practitioner_kind = Practitioner.Kind.DOCTOR
    policy = {"GET": "appointment.list"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Appointment.objects.none()
        return appointment_list(actor=request_actor(self.request)).filter(
            practitioner=self.target()
        )

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        shown = {appointment.patient_id: appointment.patient for appointment in page}
        if shown:
            patient_reads_record(actor=request_actor(request), patients=shown.values())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class AvailableSlotsQuery(serializers.Serializer):
    date = serializers.DateField(
        required=False,
        validators=[_sensible_year],
        help_text="A day in the practitioner's time zone (default: today).",
    )
    start = serializers.DateTimeField(
        required=False, validators=[_sensible_year], help_text="Or a range: from (ISO 8601)."
    )
    end = serializers.DateTimeField(
        required=False, validators=[_sensible_year], help_text="Range end (at most 31 days)."
    )
    service = serializers.IntegerField(
        required=False, help_text="Service id (optional when the practitioner offers one)."
    )

    def validate(self, data):
        has_range = "start" in data or "end" in data
        if has_range and "date" in data:
            raise serializers.ValidationError({"date": "Give a date or a start/end range."})
        if has_range:
            if "start" not in data or "end" not in data:
                missing = "end" if "start" in data else "start"
                raise serializers.ValidationError({missing: "Give both start and end."})
            if data["end"] <= data["start"]:
                raise serializers.ValidationError({"end": "Must be after start."})
            if data["end"] - data["start"] > MAX_SLOT_WINDOW:
                raise serializers.ValidationError({"end": "Search at most 31 days at a time."})
        return data


class AvailableSlotOutput(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    local_start = serializers.CharField(help_text="Wall time at the practitioner's location.")
    local_end = serializers.CharField()
    time_zone = serializers.CharField()
    practitioner = serializers.IntegerField()
    service = serializers.IntegerField()
    resources = serializers.ListField(child=serializers.IntegerField())


class DoctorAvailableSlotsView(_OnePractitionerMixin, APIView):
    """The doctor's bookable slots for a service on ``date`` (a day in the doctor's time
    zone; default today) or between ``start`` and ``end``. Holidays and closures are not
    bookable unless the doctor has extra hours then."""

    practitioner_kind = Practitioner.Kind.DOCTOR
    policy = {"GET": "slot.search"}

    @extend_schema(parameters=[AvailableSlotsQuery], responses=AvailableSlotOutput(many=True))
    def get(self, request, pk):
        params = AvailableSlotsQuery(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        actor = request_actor(request)
        practitioner = self.target()
        service = self._service(actor, practitioner, data.get("service"))
        zone = ZoneInfo(practitioner_time_zone(practitioner))
        if "start" in data:
            window = Interval(data["start"], data["end"])
        else:
            day = data.get("date") or timezone.localdate(timezone=zone)
            window = Interval(
                datetime.combine(day, time(0), tzinfo=zone),
                datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone),
            )
        found = slots_search(
            organization=require_organization(actor),
            service=service,
            window=window,
            practitioner_ids=[practitioner.pk],
        )
        rows = [
            {
                "start": s.start,
                "end": s.end,
                "local_start": s.local_start.isoformat(),
                "local_end": s.local_end.isoformat(),
                "time_zone": s.time_zone,
                "practitioner": s.practitioner_id,
                "service": service.pk,
                "resources": list(s.resource_ids),
            }
            for s in found
        ]
        return Response(AvailableSlotOutput(rows, many=True).data)

    @staticmethod
    def _service(actor, practitioner, wanted) -> Service:
        offered = service_list(actor=actor).filter(is_active=True, practitioners=practitioner)
        if wanted is None:
            choices = list(offered[:2])
            if len(choices) == 1:
                return choices[0]
            message = (
                "Choose a service: this practitioner offers several."
                if choices
                else "This practitioner offers no services."
            )
            raise ApplicationError(
                "Some fields are invalid.",
                code="validation_error",
                fields={"service": [{"code": "required", "message": message}]},
            )
        service = offered.filter(pk=wanted).first()
        if service is None:
            if not service_list(actor=actor).filter(pk=wanted).exists():
                raise _not_found("Service")
            raise ApplicationError(
                "Some fields are invalid.",
                code="validation_error",
                fields={
                    "service": [
                        {"code": "not_offered", "message": "This practitioner does not offer it."}
                    ]
                },
            )
        return service


class PractitionerSchedulesView(DoctorSchedulesView):
    """Weekly working hours of a practitioner of any kind (see the doctors' endpoint)."""

    practitioner_kind = None


class PractitionerAppointmentsView(DoctorAppointmentsView):
    """Appointments of a practitioner of any kind (see the doctors' endpoint)."""

    practitioner_kind = None


class PractitionerAvailableSlotsView(DoctorAvailableSlotsView):
    """Bookable slots of a practitioner of any kind (see the doctors' endpoint)."""

    practitioner_kind = None


# --- Closed days ---------------------------------------------------------------------------


class HolidaysQuery(serializers.Serializer):
    start = serializers.DateField(
        required=False, validators=[_sensible_year], help_text="First day (default: today)."
    )
    end = serializers.DateField(
        required=False,
        validators=[_sensible_year],
        help_text="Last day (default: start + 8 weeks).",
    )


class HolidayOutput(serializers.Serializer):
    date = serializers.DateField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["public_holiday", "closure"])


class HolidaysView(APIView):
    """The organization's closed days between ``start`` and ``end`` (inclusive, dates in
    the organization's time zone): public holidays for its country and subdivision (the
    ``holidays`` package) and its own closures, one entry per day."""

    policy = {"GET": "availability.view"}

    @extend_schema(parameters=[HolidaysQuery], responses=HolidayOutput(many=True))
    def get(self, request):
        params = HolidaysQuery(data=request.query_params)
        params.is_valid(raise_exception=True)
        organization = require_organization(request_actor(request))
        first: date = params.validated_data.get("start") or timezone.localdate(
            timezone=ZoneInfo(organization.time_zone or "UTC")
        )
        last: date = params.validated_data.get("end") or first + timedelta(
            days=HOLIDAY_DEFAULT_DAYS
        )
        problem = None
        if last < first:
            problem = "Must not be before start."
        elif (last - first).days >= MAX_HOLIDAY_DAYS:
            problem = "Ask for at most a year at a time."
        if problem:
            raise ApplicationError(
                "Some fields are invalid.",
                code="validation_error",
                fields={"end": [{"code": "invalid", "message": problem}]},
            )
        return Response(HolidayOutput(holidays_between(organization, first, last), many=True).data)

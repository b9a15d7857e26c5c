"""Waitlist API: join and leave, the waitlist in order with its offers, and claiming an
offer by its link token (first claim books; later ones 409, expired ones 410)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from caresync.accounts.permissions import ActorScopedViewMixin, request_actor
from caresync.accounts.selectors import require_organization
from caresync.core import policy
from caresync.core.errors import ApplicationError
from caresync.core.policy import Actor, authorize
from caresync.core.rest import ModelSerializer, StrictSerializer
from caresync.directory.selectors import (
    patient_list,
    patient_reads_record,
    practitioner_list,
    service_list,
)
from caresync.scheduling.api.appointments import AppointmentOutput
from caresync.scheduling.models import WaitlistEntry, WaitlistOffer
from caresync.scheduling.selectors import appointment_list
from caresync.scheduling.services import waitlist_join, waitlist_leave, waitlist_offer_claim
from caresync.scheduling.waitlist_selectors import (
    waitlist_entry_list,
    waitlist_offer_id_from_token,
)


class WaitlistOfferOutput(ModelSerializer):
    practitioner_name = serializers.CharField(source="practitioner.__str__", read_only=True)

    class Meta:
        model = WaitlistOffer
        fields = [
            "id",
            "status",
            "start",
            "end",
            "practitioner",
            "practitioner_name",
            "expires_at",
            "appointment",
            "created_at",
            "claimed_at",
        ]


class WaitlistEntryOutput(ModelSerializer):
    patient_name = serializers.CharField(source="patient.display_name", read_only=True)
    service_name = serializers.CharField(source="service.name", read_only=True)
    practitioner_name = serializers.CharField(
        source="practitioner.__str__", read_only=True, default=None
    )

    class Meta:
        model = WaitlistEntry
        fields = [
            "id",
            "status",
            "patient",
            "patient_name",
            "service",
            "service_name",
            "practitioner",
            "practitioner_name",
            "earliest_date",
            "latest_date",
            "preferred_times",
            "notes",
            "appointment",
            "created_at",
        ]


class WaitlistJoinInput(StrictSerializer):
    patient = serializers.IntegerField(required=False, help_text="Patients: omit (themselves).")
    service = serializers.IntegerField()
    practitioner = serializers.IntegerField(
        required=False, allow_null=True, help_text="Omit or null: any practitioner."
    )
    earliest_date = serializers.DateField(required=False, allow_null=True)
    latest_date = serializers.DateField(required=False, allow_null=True)
    preferred_times = serializers.ListField(
        child=serializers.ChoiceField(choices=WaitlistEntry.DayPart.choices),
        required=False,
        max_length=3,
        help_text="Day parts in the practitioner's local time; empty: any.",
    )
    notes = serializers.CharField(required=False, allow_blank=True, max_length=500)


class WaitlistLeaveInput(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class OfferClaimInput(StrictSerializer):
    token = serializers.CharField(max_length=200, help_text="The token of the claim link.")


class WaitlistEntryViewSet(
    ActorScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The waitlist in the order patients joined (patients: their own entries). POST joins
    (one active entry per patient and service: 409 ``already_waiting``); DELETE leaves."""

    serializer_class = WaitlistEntryOutput
    filterset_fields = {
        "status": ["exact", "in"],
        "service": ["exact"],
        "practitioner": ["exact"],
        "patient": ["exact"],
    }
    ordering_fields = ["created_at"]
    lookup_value_regex = r"\d+"
    scoped_model = WaitlistEntry
    policy = {
        "list": "waitlist.list",
        "retrieve": "waitlist.list",
        "offers": "waitlist.list",
        "create": "waitlist.join",
        "destroy": "waitlist.join",
        "claim": "appointment.book",
    }

    def scoped_queryset(self, actor):
        return waitlist_entry_list(actor=actor)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        shown = {entry.patient_id: entry.patient for entry in page}
        patient_reads_record(actor=request_actor(request), patients=shown.values())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        entry = self.get_object()
        patient_reads_record(actor=request_actor(request), patients=[entry.patient])
        return Response(self.get_serializer(entry).data)

    @extend_schema(request=WaitlistJoinInput, responses={201: WaitlistEntryOutput})
    def create(self, request):
        data = WaitlistJoinInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        actor = request_actor(request)
        entry = waitlist_join(
            actor=actor.user,
            organization=require_organization(actor),
            patient=self._patient(actor, fields.get("patient")),
            service=self._service(actor, fields["service"]),
            practitioner=self._practitioner(actor, fields.get("practitioner")),
            earliest_date=fields.get("earliest_date"),
            latest_date=fields.get("latest_date"),
            preferred_times=fields.get("preferred_times", []),
            notes=fields.get("notes", ""),
        )
        return Response(
            WaitlistEntryOutput(self.get_queryset().get(pk=entry.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    def _patient(self, actor: Actor, pk: int | None):
        patients = patient_list(actor=actor).filter(is_active=True)
        if pk is not None:
            patient = patients.filter(pk=pk).first()
        elif policy.PATIENT in actor.roles:
            patient = patients.first()
        else:
            raise ApplicationError(
                "Choose the patient.",
                code="validation_error",
                fields={"patient": [{"code": "required", "message": "This field is required."}]},
            )
        if patient is None:
            raise ApplicationError("Patient not found.", code="not_found", status_code=404)
        return patient

    def _service(self, actor: Actor, pk: int):
        service = service_list(actor=actor).filter(pk=pk, is_active=True).first()
        if service is None:
            raise ApplicationError("Service not found.", code="not_found", status_code=404)
        return service

    def _practitioner(self, actor: Actor, pk: int | None):
        if pk is None:
            return None
        practitioner = practitioner_list(actor=actor).filter(pk=pk, is_active=True).first()
        if practitioner is None:
            raise ApplicationError("Practitioner not found.", code="not_found", status_code=404)
        return practitioner

    @extend_schema(request=WaitlistLeaveInput, responses=WaitlistEntryOutput)
    def destroy(self, request, pk=None):
        """Leave the waitlist (clinic members: remove the entry). Open offers are withdrawn
        and passed to the next in line; 409 ``not_waiting`` if it already left or booked."""
        data = WaitlistLeaveInput(data=request.data)
        data.is_valid(raise_exception=True)
        entry = self.get_object()
        actor = request_actor(request)
        if actor.roles & policy.CLINIC:
            authorize(actor, "waitlist.manage", entry)
        entry = waitlist_leave(
            actor=actor.user, entry=entry, reason=data.validated_data.get("reason", "")
        )
        return Response(WaitlistEntryOutput(self.get_queryset().get(pk=entry.pk)).data)

    @extend_schema(responses=WaitlistOfferOutput(many=True))
    @action(detail=True, methods=["get"])
    def offers(self, request, pk=None):
        """The times offered to this entry, newest first, with their status."""
        entry = self.get_object()
        return Response(WaitlistOfferOutput(entry.offers.all(), many=True).data)

    @extend_schema(
        request=OfferClaimInput,
        responses={
            201: AppointmentOutput,
            409: OpenApiResponse(description="``offer_taken`` or ``offer_claimed``"),
            410: OpenApiResponse(description="``offer_expired``"),
        },
    )
    @action(detail=False, methods=["post"], url_path="offers/claim", url_name="offer-claim")
    def claim(self, request):
        """Book an offered time by its claim link's token, for the entry's patient (patients:
        only offers made to them). The first claim wins: 201 with the appointment."""
        data = OfferClaimInput(data=request.data)
        data.is_valid(raise_exception=True)
        actor = request_actor(request)
        offer_id = waitlist_offer_id_from_token(data.validated_data["token"])
        offer = (
            WaitlistOffer.objects.filter(
                pk=offer_id, entry__in=waitlist_entry_list(actor=actor)
            ).first()
            if offer_id is not None
            else None
        )
        if offer is None:
            raise ApplicationError("Offer not found.", code="not_found", status_code=404)
        appointment = waitlist_offer_claim(token_or_offer=offer, actor=actor.user)
        appointment = appointment_list(actor=actor).get(pk=appointment.pk)
        return Response(AppointmentOutput(appointment).data, status=status.HTTP_201_CREATED)

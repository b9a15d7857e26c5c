"""Directory API: patients (seed 002 contract), doctors, practitioners, care teams, services,
locations and resources. Reads of patient records are audited."""

import mimetypes

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from caresync.accounts.permissions import ActorScopedViewMixin, request_actor
from caresync.accounts.selectors import require_organization
from caresync.core.api import BreakGlassOutput
from caresync.core.break_glass import break_glass_open
from caresync.core.errors import ApplicationError
from caresync.core.rest import ModelSerializer, StrictModelSerializer, StrictSerializer
from caresync.directory.models import (
    PATIENT_EDITABLE_FIELDS,
    CareTeamMember,
    Location,
    Patient,
    Practitioner,
    Resource,
    Service,
    ServiceResourceNeed,
    WebhookLog,
)
from caresync.directory.selectors import (
    care_team_list,
    location_list,
    patient_list,
    patient_reads_record,
    patient_search,
    practitioner_list,
    resource_list,
    service_list,
    webhook_log_list,
)
from caresync.directory.services import (
    care_team_assign,
    location_save,
    patient_create,
    patient_deactivate,
    patient_photo_set,
    patient_update,
    practitioner_create,
    practitioner_deactivate,
    practitioner_photo_set,
    practitioner_update,
    resource_save,
    service_save,
)

# --- Patients ---------------------------------------------------------------------------

PATIENT_WRITABLE = list(PATIENT_EDITABLE_FIELDS)
CHANNELS = ("email", "sms", "phone")


class PatientSerializer(StrictModelSerializer):
    display_name = serializers.CharField(read_only=True)
    has_portal_account = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = [
            "id",
            "mrn",
            "display_name",
            *PATIENT_WRITABLE,
            "is_active",
            "has_portal_account",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "mrn", "is_active", "created_at", "updated_at"]

    def get_has_portal_account(self, patient) -> bool:
        return patient.user_id is not None

    def validate_preferred_channels(self, value):
        if not isinstance(value, list) or any(v not in CHANNELS for v in value):
            raise serializers.ValidationError(
                f"A list of: {', '.join(CHANNELS)}.", code="invalid_channel"
            )
        return list(dict.fromkeys(value))


class PatientCreateSerializer(PatientSerializer):
    allow_duplicate = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="Create even though a likely duplicate exists (audited).",
    )

    class Meta(PatientSerializer.Meta):
        fields = [*PatientSerializer.Meta.fields, "allow_duplicate"]


class PhotoInput(StrictSerializer):
    photo = serializers.FileField()


class BreakGlassInput(StrictSerializer):
    reason = serializers.CharField(max_length=2000)


class CareTeamOutput(ModelSerializer):
    practitioner_name = serializers.CharField(source="practitioner.__str__", read_only=True)

    class Meta:
        model = CareTeamMember
        fields = [
            "id",
            "practitioner",
            "practitioner_name",
            "role",
            "start_date",
            "end_date",
            "notes",
        ]


class CareTeamAssignInput(StrictSerializer):
    practitioner = serializers.PrimaryKeyRelatedField(queryset=Practitioner.objects.none())
    role = serializers.ChoiceField(choices=CareTeamMember.Role.choices)
    start_date = serializers.DateField(required=False)
    notes = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = practitioner_list(actor=self.context["actor"])


class PhotoActionsMixin:
    """``GET/PUT …/{id}/photo/``: serve the stored image privately; replace it through
    ``photo_service`` (content-checked, size-capped)."""

    photo_service = None

    def photo_read(self, request, obj) -> None:
        """Hook: record the read where the photo is PHI."""

    @extend_schema(responses={(200, "image/*"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], parser_classes=[MultiPartParser])
    def photo(self, request, pk=None):
        obj = self.get_object()
        if not obj.photo:
            raise ApplicationError("No photo.", code="not_found", status_code=404)
        self.photo_read(request, obj)
        response = FileResponse(
            obj.photo.open("rb"), content_type=mimetypes.guess_type(obj.photo.name)[0]
        )
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(request={"multipart/form-data": PhotoInput}, responses=None)
    @photo.mapping.put
    def photo_upload(self, request, pk=None):
        data = PhotoInput(data=request.data)
        data.is_valid(raise_exception=True)
        obj = self.photo_service(request.user, self.get_object(), data.validated_data["photo"])
        return Response(self.get_serializer(obj).data)


class PatientViewSet(PhotoActionsMixin, ActorScopedViewMixin, viewsets.ModelViewSet):
    """Patients of the organization. ``?q=`` searches name fragments, MRN, date of birth,
    phone or email. DELETE deactivates (org admins); nothing is ever destroyed."""

    serializer_class = PatientSerializer
    filterset_fields = ["is_active", "sex", "date_of_birth"]
    ordering_fields = ["family_name", "given_name", "date_of_birth", "created_at", "mrn"]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    scoped_model = Patient
    policy = {
        "list": "patient.list",
        "retrieve": "patient.view",
        "create": "patient.create",
        "update": "patient.update",
        "partial_update": "patient.update",
        "destroy": "patient.deactivate",
        "care_team": "care_team.view",
        "care_team_assign": "care_team.manage",
        "break_glass": "break_glass.open",
        "photo": "patient.view",
        "photo_upload": "patient.update",
    }

    def scoped_queryset(self, actor):
        return patient_search(patient_list(actor=actor), self.request.query_params.get("q", ""))

    @staticmethod
    def photo_service(user, patient, upload):
        return patient_photo_set(actor=user, patient=patient, upload=upload)

    def photo_read(self, request, patient) -> None:
        patient_reads_record(actor=request_actor(request), patients=[patient])

    @extend_schema(parameters=[OpenApiParameter("q", str, description="Search text")])
    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        shown = Patient.objects.filter(pk__in=[row["id"] for row in response.data["results"]])
        patient_reads_record(actor=request_actor(request), patients=shown)
        return response

    def retrieve(self, request, *args, **kwargs):
        patient = self.get_object()
        patient_reads_record(actor=request_actor(request), patients=[patient])
        return Response(self.get_serializer(patient).data)

    @extend_schema(request=PatientCreateSerializer, responses={201: PatientSerializer})
    def create(self, request, *args, **kwargs):
        data = PatientCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actor = request_actor(request)
        patient = patient_create(
            actor=request.user, organization=require_organization(actor), **data.validated_data
        )
        return Response(PatientSerializer(patient).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        patient = self.get_object()
        data = PatientSerializer(patient, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        patient = patient_update(actor=request.user, patient=patient, **data.validated_data)
        return Response(PatientSerializer(patient).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        patient_deactivate(actor=request.user, patient=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=None)
    @action(detail=True, methods=["get"], url_path="care-team")
    def care_team(self, request, pk=None):
        """The patient's care team (``?current=true``: only current assignments)."""
        members = care_team_list(
            patient=self.get_object(), current_only=request.query_params.get("current") == "true"
        )
        return Response(CareTeamOutput(members, many=True).data)

    @extend_schema(request=None, responses=None)
    @care_team.mapping.post
    def care_team_assign(self, request, pk=None):
        """Assign ``{practitioner, role, start_date?}``; a new primary replaces the current."""
        patient = self.get_object()
        data = CareTeamAssignInput(data=request.data, context={"actor": request_actor(request)})
        data.is_valid(raise_exception=True)
        member = care_team_assign(actor=request.user, patient=patient, **data.validated_data)
        return Response(CareTeamOutput(member).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=BreakGlassInput, responses={201: BreakGlassOutput})
    @action(detail=True, methods=["post"], url_path="break-glass")
    def break_glass(self, request, pk=None):
        """Emergency access to a patient without a care relationship: state the reason. The
        access is time-limited, audited with the reason and listed for admin review."""
        data = BreakGlassInput(data=request.data)
        data.is_valid(raise_exception=True)
        access = break_glass_open(
            actor=request_actor(request),
            patient_id=self.get_object().pk,
            reason=data.validated_data["reason"],
        )
        return Response(BreakGlassOutput(access).data, status=status.HTTP_201_CREATED)


# --- Practitioners and doctors ----------------------------------------------------------


class PractitionerSerializer(StrictModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    first_name = serializers.CharField(source="user.first_name", read_only=True)
    last_name = serializers.CharField(source="user.last_name", read_only=True)
    name = serializers.CharField(source="__str__", read_only=True)
    locations = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=Location.objects.none()
    )

    class Meta:
        model = Practitioner
        fields = [
            "id",
            "name",
            "email",
            "first_name",
            "last_name",
            "kind",
            "title",
            "specialization",
            "license_number",
            "years_of_experience",
            "consultation_fee",
            "bio",
            "languages",
            "accepting_new_patients",
            "locations",
            "is_active",
        ]
        read_only_fields = ["id", "is_active"]
        extra_kwargs = {"kind": {"required": False}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        actor = self.context.get("actor")
        if actor is not None:
            self.fields["locations"].child_relation.queryset = location_list(actor=actor)

    def validate_languages(self, value):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise serializers.ValidationError("A list of language codes.", code="invalid")
        return value


class PractitionerCreateSerializer(PractitionerSerializer):
    email = serializers.EmailField(write_only=True)
    first_name = serializers.CharField(max_length=150, write_only=True)
    last_name = serializers.CharField(max_length=150, write_only=True)


class PractitionerViewSet(PhotoActionsMixin, ActorScopedViewMixin, viewsets.ModelViewSet):
    """Practitioners of every kind. Creating one invites them by email. DELETE deactivates."""

    serializer_class = PractitionerSerializer
    filterset_fields = [
        "kind",
        "specialization",
        "accepting_new_patients",
        "is_active",
        "locations",
    ]
    search_fields = ["user__first_name", "user__last_name", "specialization"]
    ordering_fields = ["user__last_name", "years_of_experience", "consultation_fee"]
    scoped_model = Practitioner
    fixed_kind: str | None = None
    policy = {
        "list": "practitioner.list",
        "retrieve": "practitioner.view",
        "create": "practitioner.manage",
        "update": "practitioner.manage",
        "partial_update": "practitioner.manage",
        "destroy": "practitioner.manage",
        "photo": "practitioner.view",
        "photo_upload": "practitioner.manage",
    }

    @staticmethod
    def photo_service(user, practitioner, upload):
        return practitioner_photo_set(actor=user, practitioner=practitioner, upload=upload)

    def scoped_queryset(self, actor):
        practitioners = practitioner_list(actor=actor)
        return practitioners.filter(kind=self.fixed_kind) if self.fixed_kind else practitioners

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["actor"] = request_actor(self.request)
        return context

    @extend_schema(request=PractitionerCreateSerializer, responses={201: PractitionerSerializer})
    def create(self, request, *args, **kwargs):
        data = PractitionerCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        kind = self.fixed_kind or fields.pop("kind", None)
        fields.pop("kind", None)
        if not kind:
            raise ApplicationError(
                "Choose a practitioner kind.",
                code="validation_error",
                fields={"kind": [{"code": "required", "message": "This field is required."}]},
            )
        actor = request_actor(request)
        practitioner = practitioner_create(
            actor=request.user, organization=require_organization(actor), kind=kind, **fields
        )
        return Response(
            PractitionerSerializer(practitioner, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    def update(self, request, *args, partial=False, **kwargs):
        practitioner = self.get_object()
        data = self.get_serializer(practitioner, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if self.fixed_kind:
            fields.pop("kind", None)
        practitioner = practitioner_update(actor=request.user, practitioner=practitioner, **fields)
        return Response(self.get_serializer(practitioner).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        practitioner_deactivate(actor=request.user, practitioner=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class DoctorViewSet(PractitionerViewSet):
    """Seed 002's doctors: practitioners of kind doctor."""

    fixed_kind = Practitioner.Kind.DOCTOR


# --- Services, locations, resources -------------------------------------------------------


class ResourceNeedSerializer(ModelSerializer):
    class Meta:
        model = ServiceResourceNeed
        fields = ["kind", "modality"]


class ServiceSerializer(StrictModelSerializer):
    practitioners = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=Practitioner.objects.none()
    )
    resource_needs = ResourceNeedSerializer(many=True, required=False)

    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "category",
            "description",
            "modality",
            "preparation_instructions",
            "duration_minutes",
            "buffer_before_minutes",
            "buffer_after_minutes",
            "price",
            "tax_rate",
            "practitioners",
            "resource_needs",
            "requires_approval",
            "requires_prepayment",
            "min_notice_minutes",
            "booking_horizon_days",
            "cancellation_window_hours",
            "is_active",
        ]
        read_only_fields = ["id"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        actor = self.context.get("actor")
        if actor is not None:
            self.fields["practitioners"].child_relation.queryset = practitioner_list(actor=actor)


class OrganizationOwnedViewSet(ActorScopedViewMixin, viewsets.ModelViewSet):
    """List/detail for every member; writes through ``save_service`` for admins."""

    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    save_service = None  # a directory service: (actor, organization, <instance>, **fields)
    instance_argument = ""

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["actor"] = request_actor(self.request)
        return context

    def perform_create(self, serializer):
        actor = request_actor(self.request)
        serializer.instance = self.save_service(
            actor=self.request.user,
            organization=require_organization(actor),
            **serializer.validated_data,
        )

    def perform_update(self, serializer):
        serializer.instance = self.save_service(
            actor=self.request.user,
            organization=serializer.instance.organization,
            **{self.instance_argument: serializer.instance},
            **serializer.validated_data,
        )


class ServiceViewSet(OrganizationOwnedViewSet):
    """Appointment types: duration, buffers, price, practitioners, resource needs, rules."""

    serializer_class = ServiceSerializer
    filterset_fields = ["category", "modality", "is_active", "practitioners"]
    search_fields = ["name", "description"]
    ordering_fields = ["name", "duration_minutes", "price"]
    scoped_model = Service
    save_service = staticmethod(service_save)
    instance_argument = "service"
    policy = {
        "list": "service.list",
        "retrieve": "service.list",
        "create": "service.manage",
        "update": "service.manage",
        "partial_update": "service.manage",
    }

    def scoped_queryset(self, actor):
        return service_list(actor=actor)


class LocationSerializer(StrictModelSerializer):
    class Meta:
        model = Location
        fields = ["id", "name", "address", "time_zone", "phone", "is_active"]
        read_only_fields = ["id"]


class LocationViewSet(OrganizationOwnedViewSet):
    serializer_class = LocationSerializer
    filterset_fields = ["is_active"]
    search_fields = ["name"]
    scoped_model = Location
    save_service = staticmethod(location_save)
    instance_argument = "location"
    policy = {
        "list": "location.list",
        "retrieve": "location.list",
        "create": "location.manage",
        "update": "location.manage",
        "partial_update": "location.manage",
    }

    def scoped_queryset(self, actor):
        return location_list(actor=actor)


class ResourceSerializer(StrictModelSerializer):
    location = serializers.PrimaryKeyRelatedField(queryset=Location.objects.none())

    class Meta:
        model = Resource
        fields = ["id", "name", "kind", "modality", "location", "is_active"]
        read_only_fields = ["id"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        actor = self.context.get("actor")
        if actor is not None:
            self.fields["location"].queryset = location_list(actor=actor)


class ResourceViewSet(OrganizationOwnedViewSet):
    """Rooms, scanners and equipment (one booking at a time each)."""

    serializer_class = ResourceSerializer
    filterset_fields = ["kind", "modality", "location", "is_active"]
    search_fields = ["name"]
    scoped_model = Resource
    save_service = staticmethod(resource_save)
    instance_argument = "resource"
    policy = {
        "list": "resource.list",
        "retrieve": "resource.list",
        "create": "resource.manage",
        "update": "resource.manage",
        "partial_update": "resource.manage",
    }

    def scoped_queryset(self, actor):
        return resource_list(actor=actor)


class WebhookLogSerializer(ModelSerializer):
    class Meta:
        model = WebhookLog
        fields = [
            "id",
            "received_at",
            "source_ip",
            "status_code",
            "outcome",
            "error",
            "patient",
            "request_id",
        ]


class WebhookLogViewSet(ActorScopedViewMixin, viewsets.ReadOnlyModelViewSet):
    """Calls to the patient-intake webhook, newest first (organization admins)."""

    serializer_class = WebhookLogSerializer
    filterset_fields = ["outcome", "status_code"]
    ordering_fields = ["received_at"]
    scoped_model = WebhookLog
    policy = {"list": "webhook_log.list", "retrieve": "webhook_log.list"}

    def scoped_queryset(self, actor):
        return webhook_log_list(actor=actor)

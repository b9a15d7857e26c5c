"""Identity API: the signed-in user, organizations, members, account links, registration."""

import zoneinfo

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from caresync.accounts.models import Membership, Organization, User
from caresync.accounts.permissions import ActorScopedViewMixin, request_actor
from caresync.accounts.selectors import (
    member_list,
    memberships_for_user,
    organizations_visible,
    require_organization,
    user_for_link,
)
from caresync.accounts.services import (
    member_deactivate,
    member_invite,
    organization_onboard,
    organization_update,
    organization_webhook_secret_rotate,
    password_reset_request,
    password_set_with_token,
    patient_register,
    user_profile_update,
)
from caresync.core.errors import ApplicationError
from caresync.core.rest import ModelSerializer, StrictModelSerializer, StrictSerializer
from caresync.core.throttling import ScopedRateThrottle


def validate_time_zone_name(value: str) -> str:
    if value not in zoneinfo.available_timezones():
        raise serializers.ValidationError("Not an IANA time zone.", code="invalid_time_zone")
    return value


class PublicEndpoint(AllowAny):
    """Marks an endpoint anyone may call (sign-up, password reset); rate-limited."""


# --- Me ------------------------------------------------------------------------------


class MembershipOutput(ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "organization", "organization_name", "role", "practitioner_kind"]


class MeOutput(ModelSerializer):
    memberships = serializers.SerializerMethodField()
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "phone",
            "locale",
            "time_zone",
            "is_platform_admin",
            "roles",
            "memberships",
        ]

    def _memberships(self, user):
        if not hasattr(self, "_cached_memberships"):
            self._cached_memberships = memberships_for_user(user=user)
        return self._cached_memberships

    def get_memberships(self, user) -> list[dict]:
        return MembershipOutput(self._memberships(user), many=True).data

    def get_roles(self, user) -> list[str]:
        roles = {m.role for m in self._memberships(user)}
        if user.is_platform_admin:
            roles.add("platform_admin")
        return sorted(roles)


class MeUpdateInput(StrictSerializer):
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    locale = serializers.CharField(max_length=16, required=False)
    time_zone = serializers.CharField(
        max_length=64, required=False, validators=[validate_time_zone_name]
    )


class MeView(APIView):
    """The signed-in user, their memberships and roles."""

    policy = {"GET": "profile.view", "PATCH": "profile.update"}

    @extend_schema(responses=MeOutput)
    def get(self, request):
        if request.user is None:
            raise ApplicationError(
                "Integration tokens have no user.", code="no_user", status_code=404
            )
        return Response(MeOutput(request.user).data)

    @extend_schema(request=MeUpdateInput, responses=MeOutput)
    def patch(self, request):
        data = MeUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_profile_update(actor=request.user, user=request.user, **data.validated_data)
        return Response(MeOutput(user).data)


# --- Organizations ----------------------------------------------------------------------


class OrganizationOutput(ModelSerializer):
    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "slug",
            "time_zone",
            "country",
            "subdivision",
            "currency",
            "email",
            "phone",
            "address",
            "website",
            "require_two_factor",
            "default_appointment_fee",
            "is_active",
            "created_at",
        ]


class OrganizationCreateInput(StrictSerializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=80)
    time_zone = serializers.CharField(max_length=64, validators=[validate_time_zone_name])
    country = serializers.RegexField(r"^[A-Za-z]{2}$")
    subdivision = serializers.CharField(max_length=10, required=False, allow_blank=True)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    address = serializers.CharField(required=False, allow_blank=True)
    admin_email = serializers.EmailField()
    admin_first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    admin_last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class OrganizationUpdateInput(StrictModelSerializer):
    class Meta:
        model = Organization
        fields = [
            "name",
            "time_zone",
            "country",
            "subdivision",
            "currency",
            "email",
            "phone",
            "address",
            "website",
            "require_two_factor",
            "default_appointment_fee",
        ]
        extra_kwargs = {name: {"required": False} for name in fields}


class WebhookSecretOutput(serializers.Serializer):
    intake_webhook_secret = serializers.CharField()
    header = serializers.CharField(default="X-CareSync-Signature")


class OrganizationViewSet(
    ActorScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Organizations (hospitals, clinics). Platform admins create them."""

    serializer_class = OrganizationOutput
    lookup_field = "slug"
    filterset_fields = ["is_active", "country"]
    search_fields = ["name", "slug"]
    ordering_fields = ["name", "created_at"]
    policy = {
        "list": "organization.list",
        "retrieve": "organization.view",
        "create": "organization.create",
        "partial_update": "organization.update",
        "webhook_secret": "organization.update",
        "webhook_secret_rotate": "organization.update",
    }

    scoped_model = Organization

    def scoped_queryset(self, actor):
        return organizations_visible(actor=actor)

    @extend_schema(request=OrganizationCreateInput, responses={201: OrganizationOutput})
    def create(self, request):
        data = OrganizationCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        organization = organization_onboard(actor=request.user, **data.validated_data)
        return Response(OrganizationOutput(organization).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=OrganizationUpdateInput, responses=OrganizationOutput)
    def partial_update(self, request, slug=None):
        organization = self.get_object()
        data = OrganizationUpdateInput(organization, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        organization = organization_update(
            actor=request.user, organization=organization, **data.validated_data
        )
        return Response(OrganizationOutput(organization).data)

    @extend_schema(request=None, responses=WebhookSecretOutput)
    @action(detail=True, methods=["get"], url_path="webhook-secret")
    def webhook_secret(self, request, slug=None):
        """The key that signs patient-intake webhook calls (organization admins)."""
        organization = self.get_object()
        return Response(WebhookSecretOutput(organization).data)

    @extend_schema(request=None, responses=WebhookSecretOutput)
    @webhook_secret.mapping.post
    def webhook_secret_rotate(self, request, slug=None):
        """Replace the intake-webhook key; the old one stops working at once."""
        organization = self.get_object()
        organization_webhook_secret_rotate(actor=request.user, organization=organization)
        return Response(WebhookSecretOutput(organization).data)


# --- Members ------------------------------------------------------------------------------


class MemberOutput(ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    first_name = serializers.CharField(source="user.first_name", read_only=True)
    last_name = serializers.CharField(source="user.last_name", read_only=True)
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    invitation_pending = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "organization",
            "role",
            "practitioner_kind",
            "is_active",
            "invitation_pending",
            "created_at",
        ]

    def get_invitation_pending(self, membership) -> bool:
        return not membership.user.has_usable_password()


class MemberInviteInput(StrictSerializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    practitioner_kind = serializers.ChoiceField(
        choices=Membership.PractitionerKind.choices, required=False, allow_blank=True, default=""
    )
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)


class MemberViewSet(
    ActorScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """People in the organization named by ``X-Organization``: invite, list, deactivate."""

    serializer_class = MemberOutput
    filterset_fields = ["role", "practitioner_kind", "is_active"]
    search_fields = ["user__email", "user__first_name", "user__last_name"]
    ordering_fields = ["created_at", "user__last_name", "role"]
    policy = {
        "list": "member.list",
        "retrieve": "member.view",
        "create": "member.invite",
        "deactivate": "member.deactivate",
    }

    scoped_model = Membership

    def scoped_queryset(self, actor):
        return member_list(actor=actor)

    @extend_schema(request=MemberInviteInput, responses={201: MemberOutput})
    def create(self, request):
        data = MemberInviteInput(data=request.data)
        data.is_valid(raise_exception=True)
        organization = require_organization(request_actor(request))
        membership = member_invite(
            actor=request.user, organization=organization, **data.validated_data
        )
        return Response(MemberOutput(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=MemberOutput)
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        membership = member_deactivate(actor=request.user, membership=self.get_object())
        return Response(MemberOutput(membership).data)


# --- Account links and registration (public) ---------------------------------------------


class PublicView(APIView):
    permission_classes = [PublicEndpoint]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "account"


class PasswordResetInput(StrictSerializer):
    email = serializers.EmailField()


class PasswordResetView(PublicView):
    """Email a set-password link. Always 202: it does not reveal whether the email exists."""

    @extend_schema(request=PasswordResetInput, responses={202: None})
    def post(self, request):
        data = PasswordResetInput(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset_request(email=data.validated_data["email"])
        return Response(status=status.HTTP_202_ACCEPTED)


class SetPasswordInput(StrictSerializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class SetPasswordView(PublicView):
    """Set a password with the ``uid`` and ``token`` of an invitation, welcome or reset link."""

    @extend_schema(request=SetPasswordInput, responses={204: None})
    def post(self, request):
        data = SetPasswordInput(data=request.data)
        data.is_valid(raise_exception=True)
        password_set_with_token(
            user=user_for_link(data.validated_data["uid"]),
            token=data.validated_data["token"],
            password=data.validated_data["password"],
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class RegisterInput(StrictSerializer):
    organization = serializers.SlugField()
    email = serializers.EmailField()
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)


class RegisterView(PublicView):
    """Patient self-registration. Always 202 with the same body (no account enumeration)."""

    @extend_schema(request=RegisterInput, responses={202: None})
    def post(self, request):
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        organization = Organization.objects.filter(
            slug=fields.pop("organization"), is_active=True
        ).first()
        if organization is None:
            raise ApplicationError(
                "Organization not found.", code="organization_not_found", status_code=404
            )
        patient_register(organization=organization, **fields)
        return Response(
            {"detail": "Check your email to finish registering."}, status=status.HTTP_202_ACCEPTED
        )

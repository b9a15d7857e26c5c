import zoneinfo

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from caresync.accounts.models import Membership, User
from caresync.accounts.selectors import memberships_for_user
from caresync.accounts.services import user_profile_update
from caresync.core.api import StrictSerializer


class MembershipOutput(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "organization", "organization_name", "role", "practitioner_kind"]


class MeOutput(serializers.ModelSerializer):
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
            self._cached_memberships = list(memberships_for_user(user=user))
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
    time_zone = serializers.CharField(max_length=64, required=False)

    def validate_time_zone(self, value: str) -> str:
        if value not in zoneinfo.available_timezones():
            raise serializers.ValidationError("Not an IANA time zone.", code="invalid_time_zone")
        return value


class MeView(APIView):
    """The signed-in user, their memberships and roles."""

    @extend_schema(responses=MeOutput)
    def get(self, request):
        return Response(MeOutput(request.user).data)

    @extend_schema(request=MeUpdateInput, responses=MeOutput)
    def patch(self, request):
        data = MeUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_profile_update(actor=request.user, user=request.user, **data.validated_data)
        return Response(MeOutput(user).data)

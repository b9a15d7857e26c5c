"""In-app notifications API: the signed-in person's own notifications, newest first, and
marking them read. The bell's unread count comes with every list page."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from caresync.accounts.permissions import request_actor
from caresync.core.rest import ModelSerializer, StrictSerializer
from caresync.directory.selectors import patient_reads_record
from caresync.notifications.models import Notification
from caresync.notifications.selectors import notification_inbox
from caresync.notifications.services import notifications_mark_read


class NotificationOutput(ModelSerializer):
    title = serializers.CharField(source="subject")
    unread = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "event_kind", "title", "body", "link", "created_at", "read_at", "unread"]

    def get_unread(self, obj) -> bool:
        return obj.read_at is None


class MarkReadInput(StrictSerializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=500,
        help_text="Notifications to mark read (others' ids are ignored).",
    )
    all = serializers.BooleanField(required=False, default=False, help_text="Mark all read.")

    def validate(self, attrs):
        if not attrs.get("all") and not attrs.get("ids"):
            raise serializers.ValidationError(
                {"ids": [serializers.ErrorDetail("Give ids, or all: true.", code="required")]}
            )
        return attrs


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Own in-app notifications (``?unread=true``: only unread). POST ``read/`` marks some
    (``ids``) or all (``all: true``) read, POST ``{id}/read/`` one; both answer the
    remaining unread count and ignore others' notifications (``updated: 0``)."""

    serializer_class = NotificationOutput
    lookup_value_regex = r"\d+"
    policy = {
        "list": "notification.list",
        "read": "notification.read",
        "read_one": "notification.read",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        rows = notification_inbox(user=self.request.user).select_related("patient__organization")
        if self.request.query_params.get("unread") in ("1", "true"):
            rows = rows.filter(read_at__isnull=True)
        return rows

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        about = {n.patient_id: n.patient for n in page if n.patient_id}
        patient_reads_record(
            actor=request_actor(request),
            patients=[p for p in about.values() if p.user_id != request.user.pk],
        )
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        response.data["unread_count"] = (
            notification_inbox(user=request.user).filter(read_at__isnull=True).count()
        )
        return response

    @extend_schema(
        operation_id="notifications_read",
        request=MarkReadInput,
        responses=inline_serializer(
            "NotificationsRead",
            {"updated": serializers.IntegerField(), "unread_count": serializers.IntegerField()},
        ),
    )
    @action(detail=False, methods=["post"], url_path="read")
    def read(self, request):
        data = MarkReadInput(data=request.data)
        data.is_valid(raise_exception=True)
        updated = notifications_mark_read(
            actor=request.user,
            ids=None if data.validated_data.get("all") else data.validated_data["ids"],
        )
        unread = notification_inbox(user=request.user).filter(read_at__isnull=True).count()
        return Response({"updated": updated, "unread_count": unread})

    @extend_schema(
        operation_id="notifications_read_one",
        request=None,
        responses=inline_serializer(
            "NotificationRead",
            {"updated": serializers.IntegerField(), "unread_count": serializers.IntegerField()},
        ),
    )
    @action(detail=True, methods=["post"], url_path="read", url_name="read-one")
    def read_one(self, request, pk=None):
        updated = notifications_mark_read(actor=request.user, ids=[int(pk)])
        unread = notification_inbox(user=request.user).filter(read_at__isnull=True).count()
        return Response({"updated": updated, "unread_count": unread})

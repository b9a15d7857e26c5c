"""Audit trail API: list with filters, CSV export (org admins; platform admins)."""

import csv
import io

import django_filters
from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from caresync.accounts.permissions import ActorScopedViewMixin, request_actor
from caresync.core.audit import audit_record
from caresync.core.break_glass import break_glass_list, break_glass_review
from caresync.core.models import AuditEvent, BreakGlassAccess
from caresync.core.rest import ModelSerializer, StrictSerializer
from caresync.core.selectors import audit_event_list


class AuditEventFilter(django_filters.FilterSet):
    actor = django_filters.CharFilter(field_name="actor_label", lookup_expr="icontains")
    patient = django_filters.CharFilter(field_name="patient_id")
    action = django_filters.ChoiceFilter(choices=AuditEvent.Action.choices)
    object_type = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["actor", "patient", "action", "object_type", "since", "until"]


class AuditEventOutput(ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "occurred_at",
            "actor",
            "actor_label",
            "organization",
            "action",
            "object_type",
            "object_id",
            "patient_id",
            "ip",
            "user_agent",
            "request_id",
            "reason",
            "details",
            "hash",
        ]


AUDIT_CSV_COLUMNS = [
    "id",
    "occurred_at",
    "actor_label",
    "organization",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "ip",
    "user_agent",
    "request_id",
    "reason",
    "hash",
]


def audit_csv_rows(events):
    """CSV lines (header first) for audit events."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(AUDIT_CSV_COLUMNS)
    yield buffer.getvalue()
    for event in events.iterator(chunk_size=2000):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(
            [
                event.pk,
                event.occurred_at.isoformat(),
                event.actor_label,
                event.organization.slug if event.organization_id else "",
                event.action,
                event.object_type,
                event.object_id,
                event.patient_id,
                event.ip or "",
                event.user_agent,
                event.request_id,
                event.reason,
                event.hash,
            ]
        )
        yield buffer.getvalue()


class AuditEventViewSet(ActorScopedViewMixin, viewsets.ReadOnlyModelViewSet):
    """The organization's audit trail, newest first; filters and CSV export."""

    serializer_class = AuditEventOutput
    filterset_class = AuditEventFilter
    ordering_fields = ["occurred_at", "id"]
    policy = {"list": "audit.list", "retrieve": "audit.list", "export": "audit.export"}

    scoped_model = AuditEvent

    def scoped_queryset(self, actor):
        return audit_event_list(actor=actor)

    @extend_schema(responses={(200, "text/csv"): str})
    @action(detail=False, methods=["get"])
    def export(self, request):
        events = self.filter_queryset(self.get_queryset())
        return audit_csv_response(
            actor=request_actor(request), events=events, filters=request.query_params.dict()
        )


def audit_csv_response(*, actor, events, filters: dict) -> StreamingHttpResponse:
    """Stream ``events`` as CSV, recording the export itself in the audit trail."""
    audit_record(
        actor=actor.user,
        action="export",
        organization=actor.organization,
        object_type="core.auditevent",
        details={"filters": filters, "rows": events.count()},
    )
    response = StreamingHttpResponse(audit_csv_rows(events), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
    return response


# --- Break-glass review -----------------------------------------------------------------


class BreakGlassOutput(ModelSerializer):
    actor = serializers.EmailField(source="actor.email", read_only=True)
    reviewed_by = serializers.EmailField(source="reviewed_by.email", read_only=True, default=None)

    class Meta:
        model = BreakGlassAccess
        fields = [
            "id",
            "actor",
            "patient_id",
            "reason",
            "opened_at",
            "expires_at",
            "reviewed_by",
            "reviewed_at",
            "review_note",
        ]


class BreakGlassReviewInput(StrictSerializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class BreakGlassViewSet(ActorScopedViewMixin, viewsets.ReadOnlyModelViewSet):
    """Break-glass accesses of the organization, for admin review (``?reviewed=false``)."""

    serializer_class = BreakGlassOutput
    filterset_fields = {"reviewed_at": ["isnull"], "patient_id": ["exact"]}
    ordering_fields = ["opened_at"]
    policy = {
        "list": "break_glass.review",
        "retrieve": "break_glass.review",
        "review": "break_glass.review",
    }
    scoped_model = BreakGlassAccess

    def scoped_queryset(self, actor):
        return break_glass_list(actor=actor)

    @extend_schema(request=BreakGlassReviewInput, responses=BreakGlassOutput)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        data = BreakGlassReviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        access = self.get_object()
        break_glass_review(
            actor=request_actor(request), access=access, note=data.validated_data.get("note", "")
        )
        return Response(BreakGlassOutput(access).data)

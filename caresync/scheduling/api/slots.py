"""Slot search API."""

from datetime import timedelta

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from caresync.accounts.permissions import request_actor
from caresync.accounts.selectors import require_organization
from caresync.core.errors import ApplicationError
from caresync.directory.selectors import service_list
from caresync.scheduling.services import (
    slots_search,
)
from caresync.scheduling.slots import Interval

MAX_WINDOW = timedelta(days=31)


class SlotsQuery(serializers.Serializer):
    service = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    practitioner = serializers.IntegerField(required=False)

    def validate(self, data):
        if data["end"] <= data["start"]:
            raise serializers.ValidationError({"end": "Must be after start."})
        if data["end"] - data["start"] > MAX_WINDOW:
            raise serializers.ValidationError({"end": "Search at most 31 days at a time."})
        return data


class SlotOutput(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    local_start = serializers.CharField()
    practitioner = serializers.IntegerField(source="practitioner_id", allow_null=True)
    resources = serializers.ListField(source="resource_ids", child=serializers.IntegerField())


class SlotsView(APIView):
    """Bookable slots of a service between ``start`` and ``end`` (ISO 8601 with offset).
    With ``practitioner``: that practitioner's slots. Without: "any practitioner", the
    distinct times at which someone offering the service is free (``practitioner`` null;
    booking such a time assigns the least-loaded free practitioner)."""

    policy = {"GET": "slot.search"}

    @extend_schema(parameters=[SlotsQuery], responses=SlotOutput(many=True))
    def get(self, request):
        params = SlotsQuery(data=request.query_params)
        params.is_valid(raise_exception=True)
        actor = request_actor(request)
        data = params.validated_data
        service = service_list(actor=actor).filter(pk=data["service"], is_active=True).first()
        if service is None:
            raise ApplicationError("Service not found.", code="not_found", status_code=404)
        found = slots_search(
            organization=require_organization(actor),
            service=service,
            window=Interval(data["start"], data["end"]),
            practitioner_ids=[data["practitioner"]] if "practitioner" in data else None,
            distinct_times="practitioner" not in data,
        )
        rows = [
            {
                "start": s.start,
                "end": s.end,
                "local_start": s.local_start.isoformat(),
                "practitioner_id": s.practitioner_id,
                "resource_ids": list(s.resource_ids),
            }
            for s in found
        ]
        return Response(SlotOutput(rows, many=True).data)

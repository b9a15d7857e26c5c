"""A practitioner's secret calendar feed: status, create (or replace), revoke."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from caresync.accounts.permissions import request_actor
from caresync.core.errors import ApplicationError
from caresync.core.rest import StrictSerializer
from caresync.directory.selectors import practitioner_list
from caresync.scheduling.selectors import calendar_feed_current
from caresync.scheduling.services import calendar_feed_create, calendar_feed_revoke


class CalendarFeedCreateInput(StrictSerializer):
    """No fields: the body is empty (unknown fields are refused)."""


class CalendarFeedStatusOutput(serializers.Serializer):
    practitioner = serializers.IntegerField()
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)


class CalendarFeedCreatedOutput(serializers.Serializer):
    practitioner = serializers.IntegerField()
    url = serializers.URLField()
    created_at = serializers.DateTimeField()


class CalendarFeedView(APIView):
    """The practitioner's iCalendar feed URL. POST makes a new URL (revoking the previous
    one) and is the only answer that contains it: only a hash is stored. GET tells whether
    a feed is live and when it was last fetched; DELETE revokes it (idempotent)."""

    policy = {
        "GET": "calendar_feed.manage",
        "POST": "calendar_feed.manage",
        "DELETE": "calendar_feed.manage",
    }

    def _practitioner(self, request, pk: int):
        practitioner = practitioner_list(actor=request_actor(request)).filter(pk=pk).first()
        if practitioner is None:
            raise ApplicationError("Practitioner not found.", code="not_found", status_code=404)
        self.check_object_permissions(request, practitioner)
        return practitioner

    @extend_schema(responses=CalendarFeedStatusOutput)
    def get(self, request, pk: int):
        practitioner = self._practitioner(request, pk)
        feed = calendar_feed_current(practitioner=practitioner)
        return Response(
            CalendarFeedStatusOutput(
                {
                    "practitioner": practitioner.pk,
                    "active": feed is not None,
                    "created_at": feed.created_at if feed else None,
                    "last_used_at": feed.last_used_at if feed else None,
                }
            ).data
        )

    @extend_schema(request=CalendarFeedCreateInput, responses={201: CalendarFeedCreatedOutput})
    def post(self, request, pk: int):
        CalendarFeedCreateInput(data=request.data).is_valid(raise_exception=True)
        practitioner = self._practitioner(request, pk)
        feed, token = calendar_feed_create(actor=request.user, practitioner=practitioner)
        url = request.build_absolute_uri(reverse("calendar-feed-ics", args=[token]))
        body = CalendarFeedCreatedOutput(
            {"practitioner": practitioner.pk, "url": url, "created_at": feed.created_at}
        ).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, pk: int):
        practitioner = self._practitioner(request, pk)
        feed = calendar_feed_current(practitioner=practitioner)
        if feed is not None:
            calendar_feed_revoke(actor=request.user, feed=feed)
        return Response(status=status.HTTP_204_NO_CONTENT)

"""URLs that fail on purpose, to test the 500 paths."""

from django.db import OperationalError
from django.urls import include, path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny


@api_view(["GET"])
@permission_classes([AllowAny])
def api_boom(request):
    raise RuntimeError("secret detail")


def page_boom(request):
    raise RuntimeError("secret detail")


@api_view(["POST"])
@permission_classes([AllowAny])
def api_locked(request):
    raise OperationalError("database is locked")


def page_locked(request):
    raise OperationalError("database is locked")


urlpatterns = [
    path("api/v1/boom/", api_boom),
    path("boom/", page_boom),
    path("api/v1/locked/", api_locked),
    path("locked/", page_locked),
    path("", include("caresync.urls")),
]

handler500 = "caresync.core.views.server_error"
handler404 = "caresync.core.views.page_not_found"

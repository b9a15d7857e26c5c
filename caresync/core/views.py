from django.http import (
    HttpResponseBadRequest,
    HttpResponseNotFound,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from caresync.core.errors import json_error, wants_json
from caresync.core.selectors import platform_health


@never_cache
@require_GET
def health(request):
    """GET /health/ — 200 when database, cache, channel layer and broker are up, else 503."""
    report = platform_health()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def bad_request(request, exception=None):
    if wants_json(request):
        return json_error(
            request,
            status_code=400,
            code="bad_request",
            message="The request could not be understood.",
        )
    return HttpResponseBadRequest(loader.render_to_string("400.html", request=request))


def permission_denied(request, exception=None):
    if wants_json(request):
        return json_error(
            request,
            status_code=403,
            code="permission_denied",
            message="You do not have permission to perform this action.",
        )
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    if wants_json(request):
        return json_error(request, status_code=404, code="not_found", message="Not found.")
    return HttpResponseNotFound(loader.render_to_string("404.html", request=request))


def server_error(request):
    if wants_json(request):
        return json_error(
            request,
            status_code=500,
            code="server_error",
            message="An unexpected error occurred. It has been logged.",
        )
    # No request context: the failure may be in a context processor or the database.
    return HttpResponseServerError(loader.render_to_string("500.html"))


def csrf_failure(request, reason=""):
    if wants_json(request):
        return json_error(
            request,
            status_code=403,
            code="csrf_failed",
            message="CSRF verification failed. Reload the page and try again.",
        )
    return render(request, "403_csrf.html", status=403)

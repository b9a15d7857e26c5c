"""What a locked-out client sees (django-axes): the API error shape or the sign-in page."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

from caresync.core.audit import audit_record
from caresync.core.errors import error_body, wants_json


def lockout_message() -> str:
    minutes = round(settings.AXES_COOLOFF_TIME * 60)
    return f"Too many failed sign-in attempts. Try again in {minutes} minutes."


def lockout_response(request, original_response=None, credentials=None):
    username = (credentials or {}).get("username", "") or request.POST.get("username", "")
    audit_record(
        actor=None,
        action="locked_out",
        actor_label=str(username)[:254],
        details={"path": request.path},
    )
    if request.path.startswith("/api/v1/auth/"):
        # OAuth endpoints answer in RFC 6749 §5.2 form (see docs/api.md).
        return JsonResponse(
            {"error": "locked_out", "error_description": lockout_message()}, status=429
        )
    if wants_json(request):
        return JsonResponse(error_body(code="locked_out", message=lockout_message()), status=429)
    return render(
        request, "registration/locked_out.html", {"message": lockout_message()}, status=429
    )


def lockout_username(request, credentials=None) -> str | None:
    """The account a sign-in attempt is for, from the credentials or the posted form
    (the OAuth password grant reaches the backends with a rebuilt request)."""
    value = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(value).strip().lower() or None

"""The in-app inbox (the bell's page) and the development SMS outbox."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from caresync.accounts.views import _paginate, authorize_page
from caresync.directory.selectors import patient_reads_record
from caresync.notifications.models import OfflineSms
from caresync.notifications.selectors import notification_inbox
from caresync.notifications.services import (
    notification_mark_read,
    notifications_mark_read,
)


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@login_required
def notification_list(request):
    """The signed-in person's in-app notifications, newest first (unread highlighted)."""
    actor = authorize_page(request, "notification.list")
    rows = notification_inbox(user=request.user).select_related("patient__organization")
    if request.GET.get("show") == "unread":
        rows = rows.filter(read_at__isnull=True)
    page = _paginate(request, rows)
    about = {n.patient_id: n.patient for n in page.object_list if n.patient_id}
    patient_reads_record(
        actor=actor,
        patients=[p for p in about.values() if p.user_id != request.user.pk],
    )
    return render(
        request,
        "notifications/inbox.html",
        {"page_obj": page, "unread_only": request.GET.get("show") == "unread"},
    )


@login_required
@require_POST
def notification_read(request, pk: int):
    """Mark one notification read; then follow its link (or go back)."""
    authorize_page(request, "notification.read")
    notification = get_object_or_404(notification_inbox(user=request.user), pk=pk)
    notification_mark_read(actor=request.user, notification=notification)
    if request.POST.get("open") and notification.link:
        return redirect(notification.link)
    return redirect(_safe_next(request, "notification-inbox"))


@login_required
@require_POST
def notification_read_all(request):
    authorize_page(request, "notification.read")
    notifications_mark_read(actor=request.user)
    return redirect(_safe_next(request, "notification-inbox"))


@login_required
def sms_outbox(request):
    """Development: the text messages the offline SMS backend kept instead of sending."""
    authorize_page(request, "notification_template.manage")
    page = _paginate(request, OfflineSms.objects.all(), per_page=50)
    return render(request, "notifications/sms_outbox.html", {"page_obj": page})

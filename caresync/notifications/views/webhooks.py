"""Twilio webhooks: delivery reports and incoming text messages, signature-checked."""

from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from caresync.integrations.twilio.signature import request_is_from_twilio
from caresync.notifications.services import notification_provider_status_record
from caresync.notifications.sms_inbound import sms_inbound_receive

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@csrf_exempt
@require_POST
def twilio_status(request):
    """Twilio's delivery report for a message we sent (``MessageStatus``)."""
    if not request_is_from_twilio(request):
        return HttpResponseForbidden("Invalid Twilio signature.")
    notification_id = request.GET.get("notification", "")
    notification_provider_status_record(
        actor=None,
        provider_message_id=request.POST.get("MessageSid", "")[:100],
        provider_status=request.POST.get("MessageStatus", ""),
        error_code=request.POST.get("ErrorCode", ""),
        notification_id=int(notification_id) if notification_id.isdigit() else None,
    )
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def twilio_inbound(request):
    """A text message from a patient (Twilio's incoming message webhook)."""
    if not request_is_from_twilio(request):
        return HttpResponseForbidden("Invalid Twilio signature.")
    sid = request.POST.get("MessageSid", "")
    sender = request.POST.get("From", "")
    if not sid or not sender:
        return HttpResponse("MessageSid and From are required.", status=400)
    sms_inbound_receive(
        from_number=sender[:32],
        to_number=request.POST.get("To", "")[:32],
        body=request.POST.get("Body", ""),
        provider_message_id=sid[:100],
    )
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")

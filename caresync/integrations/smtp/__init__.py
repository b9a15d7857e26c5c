"""Email through Django's configured email backend (``EMAIL_BACKEND``: file or console in
development, SMTP in production), as plain text with an HTML alternative."""

import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from caresync.integrations.transports import OutgoingMessage, SendResult, TransportError

# SMTP reply codes 5xx are permanent refusals; 4xx are "try again later".
PERMANENT_SMTP_CODES = range(500, 600)


class EmailTransport:
    name = "email"

    def send(self, message: OutgoingMessage) -> SendResult:
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers={"Message-ID": message.reference} if message.reference else None,
        )
        if message.html:
            email.attach_alternative(message.html, "text/html")
        try:
            sent = email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            permanent = all(code in PERMANENT_SMTP_CODES for code in codes)
            raise TransportError(
                f"Recipient refused ({', '.join(map(str, codes))})", permanent=permanent
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise TransportError(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                permanent=exc.smtp_code in PERMANENT_SMTP_CODES,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"Mail server unavailable: {exc}") from exc
        if not sent:
            raise TransportError("The email backend sent nothing.")
        return SendResult(
            provider_message_id=message.reference or f"email-{message.notification_id}"
        )

    def lookup(self, message: OutgoingMessage, *, since) -> SendResult | None:
        # SMTP cannot be asked what it accepted; a resend carries the same Message-ID, so
        # receiving mail systems show it once.
        return None

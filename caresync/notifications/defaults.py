"""The shipped wording of every notification, per template key and channel. A template key
is the event kind for messages to the patient, and ``<kind>/practitioner`` for in-app
messages to the practitioner. Organizations override any of them (``NotificationTemplate``).

SMS carries as little as possible: no service (unless the organization enables it), no
reason, no clinical detail."""

from dataclasses import dataclass

PRACTITIONER = "/practitioner"


@dataclass(frozen=True)
class DefaultTemplate:
    subject: str
    body: str


def _appointment_email(opening: str, closing: str = "") -> str:
    return (
        "Hello {{ patient.first_name }},\n\n"
        f"{opening}\n\n"
        "When: {{ appointment.when }}\n"
        "With: {{ practitioner.name }}\n"
        "{% if service.name %}What: {{ service.name }}\n{% endif %}"
        "{% if location.name %}Where: {{ location.name }}{% if location.address %}, "
        "{{ location.address }}{% endif %}\n{% endif %}"
        f"{closing}"
        "\nSee or change your appointments: {{ links.appointments }}\n\n"
        "{{ organization.name }}{% if organization.phone %} · {{ organization.phone }}{% endif %}"
    )


SMS_SIGN = " – {{ organization.name }}"

DEFAULTS: dict[tuple[str, str], DefaultTemplate] = {
    # --- to the patient ------------------------------------------------------------------
    ("appointment.booked", "email"): DefaultTemplate(
        "Your appointment on {{ appointment.date }} is booked",
        _appointment_email(
            "Your appointment is booked.",
            "{% if service.preparation %}\nBefore you come: {{ service.preparation }}\n{% endif %}",
        ),
    ),
    ("appointment.booked", "sms"): DefaultTemplate(
        "",
        "Hi {{ patient.first_name }}, your {% if service.name %}{{ service.name }} "
        "{% endif %}appointment is booked for {{ appointment.when }}." + SMS_SIGN,
    ),
    ("appointment.booked", "in_app"): DefaultTemplate(
        "Appointment booked", "{{ appointment.when }} with {{ practitioner.name }}."
    ),
    ("appointment.requested", "email"): DefaultTemplate(
        "We received your appointment request",
        _appointment_email(
            "We received your request. The time is held for you while the clinic reviews it; "
            "we will let you know as soon as it is approved."
        ),
    ),
    ("appointment.requested", "in_app"): DefaultTemplate(
        "Appointment requested", "{{ appointment.when }}: waiting for the clinic to approve."
    ),
    ("appointment.approved", "email"): DefaultTemplate(
        "Your appointment on {{ appointment.date }} is confirmed",
        _appointment_email("Good news: your appointment request was approved."),
    ),
    ("appointment.approved", "sms"): DefaultTemplate(
        "",
        "Hi {{ patient.first_name }}, your appointment request for {{ appointment.when }} "
        "was approved." + SMS_SIGN,
    ),
    ("appointment.approved", "in_app"): DefaultTemplate(
        "Request approved", "Your appointment on {{ appointment.when }} is booked."
    ),
    ("appointment.rejected", "email"): DefaultTemplate(
        "Your appointment request could not be accepted",
        _appointment_email(
            "Unfortunately the clinic could not accept your appointment request. Please choose "
            "another time or call us."
        ),
    ),
    ("appointment.rejected", "sms"): DefaultTemplate(
        "",
        "Hi {{ patient.first_name }}, your appointment request for {{ appointment.when }} "
        "could not be accepted. Please book another time or call us." + SMS_SIGN,
    ),
    ("appointment.rejected", "in_app"): DefaultTemplate(
        "Request not accepted", "Your request for {{ appointment.when }} was not accepted."
    ),
    ("appointment.proposed", "email"): DefaultTemplate(
        "A new time is proposed for your appointment",
        _appointment_email(
            "The clinic proposes a different time for your appointment. Please accept or "
            "decline it on your appointments page."
        ),
    ),
    ("appointment.proposed", "sms"): DefaultTemplate(
        "",
        "Hi {{ patient.first_name }}, the clinic proposes {{ appointment.when }} for your "
        "appointment. Accept or decline: {{ links.appointments }}" + SMS_SIGN,
    ),
    ("appointment.proposed", "in_app"): DefaultTemplate(
        "New time proposed", "{{ appointment.when }}: please accept or decline."
    ),
    ("appointment.rescheduled", "email"): DefaultTemplate(
        "Your appointment has moved to {{ appointment.date }}",
        _appointment_email(
            "Your appointment has moved{% if appointment.previous_when %} from "
            "{{ appointment.previous_when }}{% endif %}."
        ),
    ),
    ("appointment.rescheduled", "sms"): DefaultTemplate(
        "",
        "Hi {{ patient.first_name }}, your appointment has moved to {{ appointment.when }}."
        + SMS_SIGN,
    ),
    ("appointment.rescheduled", "in_app"): DefaultTemplate(
        "Appointment moved", "Now {{ appointment.when }} with {{ practitioner.name }}."
    ),
    ("appointment.cancelled", "email"): DefaultTemplate(
        "Your appointment on {{ appointment.date }} is cancelled",
        _appointment_email("Your appointment has been cancelled."),
    ),
    ("appointment.cancelled", "sms"): DefaultTemplate(
        "",
        "Hi {{ patient.first_name }}, your appointment on {{ appointment.when }} is "
        "cancelled." + SMS_SIGN,
    ),
    ("appointment.cancelled", "in_app"): DefaultTemplate(
        "Appointment cancelled", "{{ appointment.when }} with {{ practitioner.name }}."
    ),
    ("appointment.no_show", "email"): DefaultTemplate(
        "We missed you today",
        _appointment_email(
            "We missed you at your appointment. If you would like another one, please book "
            "again or call us."
        ),
    ),
    ("appointment.reminder", "email"): DefaultTemplate(
        "Reminder: your appointment {{ reminder.lead }}",
        _appointment_email(
            "This is a reminder of your appointment {{ reminder.lead }}.",
            "{% if service.preparation %}\nBefore you come: {{ service.preparation }}\n{% endif %}",
        ),
    ),
    ("appointment.reminder", "sms"): DefaultTemplate(
        "",
        "Reminder: {{ patient.first_name }}, your appointment is {{ appointment.when }}. "
        "Reply C to confirm or X to cancel." + SMS_SIGN,
    ),
    ("appointment.reminder", "in_app"): DefaultTemplate(
        "Appointment {{ reminder.lead }}", "{{ appointment.when }} with {{ practitioner.name }}."
    ),
    ("waitlist.offered", "email"): DefaultTemplate(
        "A time is free: {{ appointment.when }}",
        "Hello {{ patient.first_name }},\n\n"
        "A time has come free that suits your waitlist request:\n\n"
        "When: {{ appointment.when }}\nWith: {{ practitioner.name }}\n\n"
        "Book it here before {{ offer.expires }} (the first to claim it gets it):\n"
        "{{ links.claim }}\n\n{{ organization.name }}",
    ),
    ("waitlist.offered", "sms"): DefaultTemplate(
        "",
        "Hi {{ patient.first_name }}, a time is free on {{ appointment.when }}. Claim it "
        "before {{ offer.expires }}: {{ links.claim }}" + SMS_SIGN,
    ),
    ("waitlist.offered", "in_app"): DefaultTemplate(
        "A waitlist time is free", "{{ appointment.when }}: claim it before {{ offer.expires }}."
    ),
    ("report.ready", "email"): DefaultTemplate(
        "Your report is ready",
        "Hello {{ patient.first_name }},\n\n"
        "A report from {{ organization.name }} is ready for you to read"
        "{% if links.reports %}: {{ links.reports }}{% else %} in CareSync{% endif %}.\n\n"
        "If you have questions about it, please contact your doctor.\n\n"
        "{{ organization.name }}{% if organization.phone %} · {{ organization.phone }}{% endif %}",
    ),
    ("report.ready", "sms"): DefaultTemplate(
        "",
        "Hi {{ patient.first_name }}, a report is ready for you in CareSync." + SMS_SIGN,
    ),
    ("report.ready", "in_app"): DefaultTemplate(
        "Your report is ready", "Open My reports to read it."
    ),
    # --- to the practitioner (in-app) ----------------------------------------------------
    ("appointment.requested" + PRACTITIONER, "in_app"): DefaultTemplate(
        "New appointment request", "{{ patient.name }} asks for {{ appointment.when }}."
    ),
    ("appointment.booked" + PRACTITIONER, "in_app"): DefaultTemplate(
        "New appointment", "{{ patient.name }} booked {{ appointment.when }}."
    ),
    ("appointment.cancelled" + PRACTITIONER, "in_app"): DefaultTemplate(
        "Appointment cancelled", "{{ patient.name }}, {{ appointment.when }}."
    ),
    ("appointment.rescheduled" + PRACTITIONER, "in_app"): DefaultTemplate(
        "Appointment moved", "{{ patient.name }}: now {{ appointment.when }}."
    ),
    ("appointment.confirmed" + PRACTITIONER, "in_app"): DefaultTemplate(
        "Appointment confirmed", "{{ patient.name }} confirmed {{ appointment.when }}."
    ),
    ("appointment.proposal_accepted" + PRACTITIONER, "in_app"): DefaultTemplate(
        "Proposed time accepted", "{{ patient.name }} accepted {{ appointment.when }}."
    ),
    ("report.ready" + PRACTITIONER, "in_app"): DefaultTemplate(
        "Report released", "The report for {{ patient.name }} is released to the patient."
    ),
    ("appointment.proposal_declined" + PRACTITIONER, "in_app"): DefaultTemplate(
        "Proposed time declined", "{{ patient.name }} declined {{ appointment.when }}."
    ),
}

# Human names of template keys, for the template editor.
KEY_LABELS = {
    "appointment.booked": "Appointment booked",
    "appointment.requested": "Appointment requested",
    "appointment.approved": "Request approved",
    "appointment.rejected": "Request rejected",
    "appointment.proposed": "New time proposed",
    "appointment.rescheduled": "Appointment moved",
    "appointment.cancelled": "Appointment cancelled",
    "appointment.no_show": "Missed appointment",
    "appointment.reminder": "Appointment reminder",
    "waitlist.offered": "Waitlist time offered",
    "appointment.confirmed": "Appointment confirmed",
    "appointment.proposal_accepted": "Proposed time accepted",
    "appointment.proposal_declined": "Proposed time declined",
    "report.ready": "Report ready",
}


def key_label(key: str) -> str:
    kind, _, audience = key.partition("/")
    label = KEY_LABELS.get(kind, kind)
    return f"{label} (to the practitioner)" if audience else label

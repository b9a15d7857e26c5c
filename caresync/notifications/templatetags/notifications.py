from django import template

from caresync.notifications.selectors import notification_unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context) -> int:
    """How many in-app notifications the signed-in person has not read (the bell)."""
    request = context.get("request")
    return notification_unread_count(user=getattr(request, "user", None))

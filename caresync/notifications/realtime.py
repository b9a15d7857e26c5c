"""Push events to a user's open WebSockets, after the transaction commits."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def user_event_send(*, user_ids: list[int], payload: dict) -> None:
    """Queue ``payload`` for the listed users; sent only if the current transaction commits."""

    def send() -> None:
        layer = get_channel_layer()
        for user_id in user_ids:
            async_to_sync(layer.group_send)(
                user_group(user_id), {"type": "user.event", "payload": payload}
            )

    # robust: a channel layer that is down must not fail the request that already committed.
    transaction.on_commit(send, robust=True)

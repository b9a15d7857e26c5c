"""Per-user event stream over WebSocket: ``/ws/notifications/``."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from caresync.notifications.realtime import user_group

CLOSE_UNAUTHENTICATED = 4401


class UserEventConsumer(AsyncJsonWebsocketConsumer):
    """Delivers events addressed to the signed-in user to every tab they have open.

    Client messages: ``{"type": "ping"}`` → ``{"type": "pong"}``;
    ``{"type": "echo", "data": ...}`` → the same data to all of the user's sockets.
    """

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.group_name = user_group(user.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()
        await self.send_json({"type": "connection.ready", "user": user.pk})

    async def disconnect(self, code):
        if hasattr(self, "group_name"):
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong", "id": content.get("id")})
        elif kind == "echo":
            await self.channel_layer.group_send(
                self.group_name,
                {"type": "user.event", "payload": {"type": "echo", "data": content.get("data")}},
            )
        else:
            await self.send_json(
                {
                    "type": "error",
                    "code": "unknown_message_type",
                    "message": 'Send {"type": "ping"} or {"type": "echo"}.',
                }
            )

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        try:
            await super().receive(text_data=text_data, bytes_data=bytes_data, **kwargs)
        except ValueError:
            await self.send_json(
                {
                    "type": "error",
                    "code": "parse_error",
                    "message": "Messages must be JSON objects.",
                }
            )

    async def user_event(self, event):
        await self.send_json(event["payload"])

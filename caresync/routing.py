"""WebSocket routes. Each app adds its consumers here."""

from django.urls import path

from caresync.notifications.consumers import UserEventConsumer

websocket_urlpatterns = [
    path("ws/notifications/", UserEventConsumer.as_asgi()),
]

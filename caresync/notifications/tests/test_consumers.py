"""The per-user WebSocket: authenticated, private to its user, echoes events."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from caresync.asgi import application
from caresync.notifications.realtime import user_event_send

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1")


def session_cookie_for(user) -> bytes:
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


async def connect(user=None, origin=ORIGIN):
    headers = [origin]
    if user is not None:
        headers.append((b"cookie", await database_sync_to_async(session_cookie_for)(user)))
    communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def test_anonymous_socket_is_closed_as_unauthenticated():
    communicator, connected, code = await connect()
    assert not connected
    assert code == 4401


async def test_foreign_origin_is_refused(tenant_a):
    communicator, connected, _ = await connect(
        tenant_a.doctor, origin=(b"origin", b"https://evil.test")
    )
    assert not connected


async def test_signed_in_user_gets_ready_and_pong(tenant_a):
    communicator, connected, _ = await connect(tenant_a.doctor)
    assert connected
    ready = await communicator.receive_json_from()
    assert ready == {"type": "connection.ready", "user": tenant_a.doctor.pk}
    await communicator.send_json_to({"type": "ping", "id": 7})
    assert await communicator.receive_json_from() == {"type": "pong", "id": 7}
    await communicator.disconnect()


async def test_event_for_a_user_reaches_only_that_user(tenant_a, tenant_b):
    alice, _, _ = await connect(tenant_a.doctor)
    bob, _, _ = await connect(tenant_b.doctor)
    await alice.receive_json_from()
    await bob.receive_json_from()

    await database_sync_to_async(user_event_send)(
        user_ids=[tenant_a.doctor.pk], payload={"type": "notification", "title": "Hello"}
    )
    assert await alice.receive_json_from() == {"type": "notification", "title": "Hello"}
    assert await bob.receive_nothing(timeout=0.3)
    await alice.disconnect()
    await bob.disconnect()


async def test_echo_reaches_every_tab_of_the_same_user(tenant_a):
    tab1, _, _ = await connect(tenant_a.nurse)
    tab2, _, _ = await connect(tenant_a.nurse)
    await tab1.receive_json_from()
    await tab2.receive_json_from()
    await tab1.send_json_to({"type": "echo", "data": {"n": 1}})
    expected = {"type": "echo", "data": {"n": 1}}
    assert await tab1.receive_json_from() == expected
    assert await tab2.receive_json_from() == expected
    await tab1.disconnect()
    await tab2.disconnect()


async def test_garbage_messages_get_an_error_not_a_disconnect(tenant_a):
    communicator, _, _ = await connect(tenant_a.staff)
    await communicator.receive_json_from()
    await communicator.send_to(text_data="not json")
    assert (await communicator.receive_json_from())["code"] == "parse_error"
    await communicator.send_json_to({"type": "launch"})
    assert (await communicator.receive_json_from())["code"] == "unknown_message_type"
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from())["type"] == "pong"
    await communicator.disconnect()


def test_events_are_not_sent_when_the_transaction_rolls_back(tenant_a):
    from django.db import transaction

    sent = []
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    original = layer.group_send

    async def spy(group, message):
        sent.append(group)
        await original(group, message)

    layer.group_send = spy
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            user_event_send(user_ids=[tenant_a.doctor.pk], payload={"type": "x"})
            raise RuntimeError("rolled back")
        assert sent == []
        with transaction.atomic():
            user_event_send(user_ids=[tenant_a.doctor.pk], payload={"type": "x"})
        assert sent == [f"user.{tenant_a.doctor.pk}"]
    finally:
        layer.group_send = original

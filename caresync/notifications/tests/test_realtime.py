"""In-app notifications reach the recipient's open pages live, after commit."""

import pytest
from channels.db import database_sync_to_async

from caresync.notifications.tests.test_consumers import connect
from caresync.scheduling.tests.conftest import at, book

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_booking_request_pops_up_on_the_practitioners_open_page(reachable):
    doctor, _, _ = await connect(reachable.tenant.doctor)
    nurse, _, _ = await connect(reachable.tenant.nurse)
    await doctor.receive_json_from()
    await nurse.receive_json_from()
    # Committed, the request's in-app notification is delivered (tasks run inline here).
    await database_sync_to_async(book)(reachable, at(10), request_only=True)
    pushed = await doctor.receive_json_from(timeout=5)
    assert pushed["type"] == "notification"
    assert pushed["title"] == "New appointment request"
    assert pushed["body"] == "Ada Lovelace asks for Mon 2 Mar 2026, 10:00 am AEDT."
    assert pushed["url"].startswith("/appointments/")
    assert await nurse.receive_nothing(timeout=0.3)
    await doctor.disconnect()
    await nurse.disconnect()

"""The staff calendar in Chromium: drag a visit to a free time and it stays (the server moved
it); drag it onto a taken time and it snaps back with the reason in a toast. No CSP violation
on the way."""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e

SERVICE = "GP consultation (30 min)"


def api(page, base_url, method, path, data=None):
    token = page.evaluate("document.querySelector('meta[name=\"csrf-token\"]').content")
    response = page.request.fetch(
        f"{base_url}/api/v1/{path}",
        method=method,
        data=data,
        headers={"X-CSRFToken": token, "Referer": base_url + "/"},
    )
    return response.status, response.json()


def book_two_visits(page, base_url, zone):
    """Two visits with one doctor, at 09:00 and 10:00 on a weekday past the demo data's four
    weeks (so 11:00 is free): the first weekday where both book."""
    _, services = api(page, base_url, "GET", "services/?page_size=100")
    service = next(s for s in services["results"] if s["name"] == SERVICE)
    practitioner = service["practitioners"][0]
    _, patients = api(page, base_url, "GET", "patients/?page_size=2")
    first_patient, second_patient = (p["id"] for p in patients["results"][:2])
    day = datetime.now(zone).date() + timedelta(days=22)
    for _ in range(10):
        day += timedelta(days=1)
        if day.weekday() >= 5:
            continue
        booked = []
        for patient, hour in ((first_patient, 9), (second_patient, 10)):
            start = datetime.combine(day, time(hour), tzinfo=zone)
            status, body = api(
                page,
                base_url,
                "POST",
                "appointments/",
                {
                    "patient": patient,
                    "practitioner": practitioner,
                    "service": service["id"],
                    "start": start.isoformat(),
                },
            )
            if status == 201:
                booked.append(body)
        if len(booked) == 2:
            return day, practitioner, booked
        for visit in booked:
            api(page, base_url, "POST", f"appointments/{visit['id']}/cancel/", {"reason": "e2e"})
    pytest.fail("No weekday in the next five weeks took two visits (working hours missing?)")


def drag(page, event_id, day, wall_time):
    """Drag the visit by its top edge onto the quarter-hour starting at ``wall_time``."""
    event = page.locator(f'[data-appointment="{event_id}"]')
    box = event.bounding_box()
    column = page.locator(f'td.fc-timegrid-col[data-date="{day.isoformat()}"]').bounding_box()
    lane = page.locator(f'td.fc-timegrid-slot-lane[data-time="{wall_time}"]').bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 4)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 20, steps=4)
    page.mouse.move(column["x"] + column["width"] / 2, lane["y"] + 4, steps=12)
    with page.expect_response(re.compile(r"/calendar/appointments/\d+/move/$")) as answer:
        page.mouse.up()
    return answer.value


def test_staff_drag_a_visit_to_a_free_time_and_a_taken_one_snaps_back(
    page, live_server_url, artifacts
):
    sign_in(page, live_server_url, "staff1@harbour-health.test")
    page.goto(f"{live_server_url}/calendar/")
    zone = ZoneInfo(page.locator("#calendar").get_attribute("data-time-zone"))
    day, practitioner, (moving, blocking) = book_two_visits(page, live_server_url, zone)

    page.goto(
        f"{live_server_url}/calendar/?view=timeGridWeek&date={day.isoformat()}"
        f"&practitioner={practitioner}"
    )
    page.wait_for_selector(f'[data-appointment="{moving["id"]}"]', timeout=15_000)
    page.wait_for_load_state("networkidle")
    assert page.locator(".fc-license-message").count() == 0

    # A free time: the visit stays there and the server has it at 11:00.
    answer = drag(page, moving["id"], day, "11:00:00")
    assert answer.status == 200
    moved = page.locator(f'[data-appointment="{moving["id"]}"]')
    moved.wait_for()
    assert "11:00" in moved.inner_text()
    _, stored = api(page, live_server_url, "GET", f"appointments/{moving['id']}/")
    assert datetime.fromisoformat(stored["start"]) == datetime.combine(day, time(11), tzinfo=zone)
    page.screenshot(path=str(artifacts / "calendar-moved.png"), full_page=True)

    # A taken time: refused, the visit snaps back to 11:00 and a toast says why.
    answer = drag(page, moving["id"], day, "10:00:00")
    assert answer.status == 409
    toast = page.locator(".toast", has_text="Not moved")
    toast.wait_for()
    assert "no longer available" in toast.inner_text()
    assert "Free nearby" in toast.inner_text()
    assert "11:00" in page.locator(f'[data-appointment="{moving["id"]}"]').inner_text()
    _, stored = api(page, live_server_url, "GET", f"appointments/{moving['id']}/")
    assert datetime.fromisoformat(stored["start"]) == datetime.combine(day, time(11), tzinfo=zone)
    _, other = api(page, live_server_url, "GET", f"appointments/{blocking['id']}/")
    assert datetime.fromisoformat(other["start"]) == datetime.combine(day, time(10), tzinfo=zone)
    page.screenshot(path=str(artifacts / "calendar-refused.png"), full_page=True)
    # Chromium logs the refused move's 409 as a failed load; nothing else may be logged.
    assert [e for e in page.console_errors if "status of 409" not in e] == []


def test_resource_views_book_by_clicking_and_month_view_colours_by_service(
    page, live_server_url, artifacts
):
    sign_in(page, live_server_url, "staff1@harbour-health.test")
    page.goto(f"{live_server_url}/calendar/")
    zone = ZoneInfo(page.locator("#calendar").get_attribute("data-time-zone"))
    monday = datetime.now(zone).date() + timedelta(days=35)
    monday -= timedelta(days=monday.weekday())  # past the demo visits: an empty morning
    page.goto(f"{live_server_url}/calendar/?view=byPractitioner&date={monday.isoformat()}")
    page.wait_for_selector("th.fc-resource", timeout=15_000)
    page.wait_for_load_state("networkidle")
    assert page.locator("th.fc-col-header-cell.fc-resource").count() >= 2
    assert page.locator(".fc-license-message").count() == 0
    assert page.locator(".fc-non-business").count() > 0  # outside working hours greyed
    page.screenshot(path=str(artifacts / "calendar-practitioners.png"), full_page=True)

    page.get_by_role("button", name="Rooms").click()
    page.locator("th.fc-resource", has_text="MRI scanner").wait_for(timeout=15_000)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(artifacts / "calendar-rooms.png"), full_page=True)

    page.get_by_role("button", name="Month").click()
    page.wait_for_selector(".fc-daygrid-body")
    page.select_option("#calendar-colour", "service")
    assert page.locator("#calendar-legend-service").is_visible()
    assert not page.locator("#calendar-legend-status").is_visible()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(artifacts / "calendar-month.png"), full_page=True)
    assert page.console_errors == []

    # Click-to-book: a free quarter-hour in a practitioner's column opens booking with them.
    page.get_by_role("button", name="Practitioners").click()
    page.wait_for_selector("th.fc-resource")
    column = page.locator("th.fc-col-header-cell.fc-resource").first
    name = column.inner_text().strip()
    lane = page.locator('td.fc-timegrid-slot-lane[data-time="10:30:00"]').bounding_box()
    header = column.bounding_box()
    page.mouse.click(header["x"] + header["width"] / 2, lane["y"] + 4)
    page.wait_for_url(re.compile(r"/book/\?"))
    assert f"day={monday.isoformat()}" in page.url and "practitioner=" in page.url
    assert "start=" in page.url
    assert page.get_by_role("heading", name="Who is the visit for?").is_visible()
    assert name  # the column clicked was a practitioner's
    assert page.console_errors == []

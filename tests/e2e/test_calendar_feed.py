"""Calendar feeds in Chromium: a doctor makes a feed URL, copies it (strict CSP, script from
static files) and the URL serves iCalendar; a patient downloads an appointment's .ics."""

import re
from pathlib import Path

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_doctor_creates_copies_and_revokes_a_feed_url(page, live_server_url, artifacts):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server_url)
    sign_in(page, live_server_url, "doctor1@harbour-health.test")
    page.get_by_role("link", name="My working hours").click()
    page.wait_for_url("**/availability/")
    page.get_by_role("link", name="Calendar feed").click()
    page.wait_for_url("**/calendar-feed/")

    page.get_by_role("button", name="Create feed URL").click()
    field = page.get_by_label("Feed address")
    url = field.input_value()
    assert url.startswith(f"{live_server_url}/calendar/feeds/") and url.endswith(".ics")
    page.get_by_role("button", name="Copy URL").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == url
    page.screenshot(path=str(artifacts / "calendar-feed-created.png"), full_page=True)

    feed = page.request.get(url)
    assert feed.status == 200
    assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(feed.body())
    assert calendar.walk("VEVENT"), "the demo doctor has appointments in the window"
    assert calendar.get_missing_tzids() == set()

    page.goto(page.url)
    assert page.get_by_text("Active since").is_visible()
    assert url not in page.content()

    page.get_by_text("Revoke…").click()
    page.get_by_role("button", name="Revoke", exact=True).click()
    assert page.get_by_text("The feed URL is revoked").is_visible()
    assert page.request.get(url).status == 404
    assert page.console_errors == []


def test_patient_downloads_an_appointment_as_ics(page, live_server_url):
    sign_in(page, live_server_url, "patient1@harbour-health.test")
    page.goto(f"{live_server_url}/appointments/?when=all")
    hrefs = page.locator("a[href^='/appointments/']").evaluate_all(
        "links => links.map(link => link.getAttribute('href'))"
    )
    details = [href for href in hrefs if re.fullmatch(r"/appointments/\d+/", href)]
    if not details:
        pytest.skip("The demo patient has no appointments")
    page.goto(f"{live_server_url}{details[0]}")

    with page.expect_download() as download:
        page.get_by_role("link", name="Add to calendar (.ics)").click()

    assert download.value.suggested_filename.endswith(".ics")
    calendar = Calendar.from_ical(Path(download.value.path()).read_bytes())
    assert len(calendar.walk("VEVENT")) == 1
    assert page.console_errors == []

"""Notifications in Chromium (strict CSP): the bell and inbox, the communications
dashboard and text inbox, the template editor's preview, a patient's contact preferences."""

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_the_bell_shows_unread_notifications_and_the_inbox_clears_them(
    page, live_server_url, artifacts
):
    sign_in(page, live_server_url, "doctor1@harbour-health.test")
    bell = page.locator("#notifications-button")
    expect(bell).to_have_attribute("aria-label", re.compile(r"Notifications, [1-9]\d* unread"))
    bell.click()
    page.wait_for_url(f"{live_server_url}/notifications/")
    expect(page.get_by_role("heading", name="All notifications")).to_be_visible()
    page.screenshot(path=str(artifacts / "notifications-inbox.png"), full_page=True)
    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator("#notifications-button")).to_have_attribute(
        "aria-label", "Notifications, none unread"
    )
    assert page.console_errors == []


def test_front_desk_answers_a_text_from_the_communications_inbox(page, live_server_url, artifacts):
    sign_in(page, live_server_url, "staff1@harbour-health.test")
    page.get_by_role("link", name="Communications").first.click()
    page.wait_for_url(f"{live_server_url}/communications/")
    expect(page.get_by_role("heading", name="Messages to patients")).to_be_visible()
    page.screenshot(path=str(artifacts / "communications.png"), full_page=True)
    page.get_by_role("link", name=re.compile("Text inbox")).click()
    expect(page.get_by_text("is there parking near the clinic?")).to_be_visible()
    page.get_by_label("Reply by text message").first.fill("Yes, free parking behind us.")
    page.get_by_role("button", name="Send reply").first.click()
    expect(page.get_by_text(re.compile(r"Reply sent to \+61"))).to_be_visible()
    assert page.get_by_text("is there parking near the clinic?").count() == 0
    assert page.console_errors == []


def test_admin_previews_a_text_message_template_with_its_length(page, live_server_url, artifacts):
    sign_in(page, live_server_url, "orgadmin@harbour-health.test")
    page.get_by_role("link", name="Notifications").first.click()
    page.wait_for_url(f"{live_server_url}/settings/notifications/")
    page.get_by_role("link", name="Edit Appointment reminder (SMS)").click()
    body = page.get_by_label("Body")
    body.fill("Hi {{ patient.first_name }}, see you {{ appointment.when }}.")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("Hi Alex, see you Tue 3 Mar 2026, 10:30 am AEDT.")).to_be_visible()
    expect(page.locator("[data-sms-length]")).to_contain_text("1 segment (GSM-7)")
    page.screenshot(path=str(artifacts / "notification-template.png"), full_page=True)
    assert page.console_errors == []


def test_patient_sets_quiet_hours(page, live_server_url):
    sign_in(page, live_server_url, "patient2@harbour-health.test")
    page.goto(f"{live_server_url}/notifications/")
    page.get_by_role("link", name="Contact preferences").click()
    page.get_by_label("Quiet hours from").fill("21:00")
    page.get_by_label("Quiet hours until").fill("07:30")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_text("Your contact preferences are saved.")).to_be_visible()
    assert page.console_errors == []


def message_count(page, base_url: str, **filters) -> int:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    page.goto(f"{base_url}/communications/?{query}")
    subtitle = page.locator("#messages-title + .panel__subtitle").inner_text()
    return int(re.match(r"(\d+) message", subtitle).group(1))


def test_a_booking_in_the_pages_texts_and_emails_the_patient(page, browser, live_server_url):
    desk = browser.new_context(viewport={"width": 1366, "height": 860}).new_page()
    try:
        sign_in(desk, live_server_url, "staff1@harbour-health.test")
        before = {
            channel: message_count(desk, live_server_url, q="Thompson", channel=channel)
            for channel in ("sms", "email")
        }
        sign_in(page, live_server_url, "patient1@harbour-health.test")
        page.get_by_role("link", name="Book a visit").first.click()
        page.locator(".choice-card", has_text="GP consultation").first.click()
        page.get_by_role("link", name="Any practitioner").click()
        slots = page.locator("a.slot-btn")
        if slots.count() == 0:
            pytest.skip("The demo data offers no free time in the next two weeks")
        slots.first.click()
        page.get_by_role("button", name="Confirm booking").click()
        page.wait_for_url("**/booked/")
        # The worker relays the booking's event to its messages within moments.
        wanted = {"sms": before["sms"] + 1, "email": before["email"] + 1}
        deadline = time.monotonic() + 30
        while True:
            after = {
                channel: message_count(desk, live_server_url, q="Thompson", channel=channel)
                for channel in ("sms", "email")
            }
            if after == wanted or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert after == wanted
        newest = desk.locator("table.table tbody tr").first
        expect(newest).to_contain_text("is booked")
        assert page.console_errors == []
    finally:
        desk.context.close()

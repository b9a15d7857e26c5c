"""The waitlist in Chromium: the demo patient books an offered time from the claim page
(strict CSP, no sign-in needed for the link), and the front desk sees the waitlist."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_patient_books_an_offered_time_and_the_link_then_says_booked(
    page, browser, live_server_url, artifacts
):
    sign_in(page, live_server_url, "patient1@harbour-health.test")
    page.goto(f"{live_server_url}/appointments/")
    panel = page.locator("section", has=page.get_by_role("heading", name="On the waitlist"))
    expect(panel).to_be_visible()
    link = panel.get_by_role("link", name="Book this time")
    claim_url = live_server_url + link.get_attribute("href")
    assert re.fullmatch(rf"{live_server_url}/waitlist/offers/[^/]+/", claim_url)

    anonymous = browser.new_context()
    try:
        visitor = anonymous.new_page()
        offer = visitor.goto(claim_url)
        assert offer.status == 200
        expect(visitor.get_by_role("heading", name="A time has become free")).to_be_visible()
        visitor.screenshot(path=str(artifacts / "waitlist-offer.png"), full_page=True)
    finally:
        anonymous.close()

    link.click()
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("heading", name="You're booked")).to_be_visible()
    page.screenshot(path=str(artifacts / "waitlist-booked.png"), full_page=True)
    page.get_by_role("link", name="My appointments").click()
    assert page.get_by_role("link", name="Book this time").count() == 0
    assert page.console_errors == []


def test_front_desk_sees_the_waitlist_in_order(page, live_server_url, artifacts):
    sign_in(page, live_server_url, "staff1@harbour-health.test")
    page.get_by_role("link", name="Waitlist").first.click()
    page.wait_for_url(f"{live_server_url}/waitlist/")
    rows = page.locator("table.table tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 3
    page.screenshot(path=str(artifacts / "waitlist.png"), full_page=True)
    page.get_by_role("link", name="Add to waitlist").click()
    page.get_by_role("searchbox", name="Patient").fill("a")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".choice-card").first).to_be_visible()
    assert page.console_errors == []

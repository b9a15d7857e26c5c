"""Booking through the real pages in Chromium, and the staff calendar under the strict CSP."""

import pytest

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_patient_books_a_visit_through_the_steps(page, live_server_url, artifacts):
    sign_in(page, live_server_url, "patient1@harbour-health.test")
    page.get_by_role("link", name="Book a visit").first.click()
    page.wait_for_url(f"{live_server_url}/book/")
    page.locator(".choice-card", has_text="GP consultation").first.click()
    page.get_by_role("link", name="Any practitioner").click()
    slots = page.locator("a.slot-btn")
    if slots.count() == 0:
        pytest.skip("The demo data offers no free time in the next two weeks (no working hours?)")
    page.screenshot(path=str(artifacts / "booking-times.png"), full_page=True)
    chosen = slots.first.inner_text()
    slots.first.click()
    page.get_by_label("Reason for the visit").fill("Annual check-up")
    page.get_by_role("button", name="Confirm booking").click()

    page.wait_for_url("**/booked/")
    assert page.get_by_role("heading", name="Appointment booked").is_visible()
    assert chosen in page.locator(".panel__subtitle").first.inner_text()
    page.screenshot(path=str(artifacts / "booking-done.png"), full_page=True)
    page.get_by_role("link", name="View appointment").click()
    assert page.get_by_text("Annual check-up").first.is_visible()
    assert page.get_by_role("button", name="Check in").count() == 0
    assert page.console_errors == []


def test_staff_calendar_renders_without_csp_violations(page, live_server_url, artifacts):
    sign_in(page, live_server_url, "staff1@harbour-health.test")
    page.goto(f"{live_server_url}/calendar/")
    page.wait_for_selector(".fc-timegrid", timeout=15_000)
    page.wait_for_load_state("networkidle")
    # FullCalendar's own stylesheet applied (it is injected with the page's CSP nonce).
    assert page.evaluate(
        "getComputedStyle(document.querySelector('.fc-view-harness')).position"
    ) in {"relative", "absolute"}
    page.screenshot(path=str(artifacts / "calendar-staff.png"), full_page=True)
    assert page.console_errors == []

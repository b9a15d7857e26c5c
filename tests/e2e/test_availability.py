"""The working-hours editor in Chromium: a doctor adds weekend hours and time off under the
strict CSP; an admin closes the clinic for a day."""

import pytest

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_doctor_adds_weekend_hours_and_time_off(page, live_server_url, artifacts):
    sign_in(page, live_server_url, "doctor1@harbour-health.test")
    page.get_by_role("link", name="My working hours").click()
    page.wait_for_url("**/availability/")
    assert page.get_by_role("heading", name="Your working week").is_visible()
    blocks_before = page.locator("td.avail-block").count()

    form = page.locator("form", has=page.get_by_role("button", name="Add hours"))
    form.get_by_label("Saturday").check()
    form.get_by_label("From").fill("10:00")
    form.get_by_label("Until").fill("13:00")
    form.get_by_role("button", name="Add hours").click()
    page.wait_for_url("**/availability/#week-title")
    assert page.get_by_text("Working hours 10:00–13:00 added on Saturday.").is_visible()
    assert page.locator("td.avail-block").count() == blocks_before + 1
    assert page.locator("td.avail-block", has_text="10:00–13:00").is_visible()

    # The same hours again overlap: refused inline, nothing added.
    form = page.locator("form", has=page.get_by_role("button", name="Add hours"))
    form.get_by_label("Saturday").check()
    form.get_by_label("From").fill("12:00")
    form.get_by_label("Until").fill("14:00")
    form.get_by_role("button", name="Add hours").click()
    assert page.get_by_role("alert").filter(has_text="Overlaps Saturday 10:00–13:00").is_visible()

    time_off = page.locator("form", has=page.get_by_role("button", name="Add", exact=True))
    time_off.get_by_label("What").select_option("time_off")
    time_off.get_by_label("From").fill("2030-01-07T09:00")
    time_off.get_by_label("Until").fill("2030-01-07T12:00")
    time_off.get_by_label("Note").fill("Conference")
    time_off.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_url("**/availability/#exceptions-title")
    assert page.get_by_text("Mon 7 Jan 09:00 – Mon 7 Jan 12:00").is_visible()
    page.screenshot(path=str(artifacts / "availability-editor.png"), full_page=True)
    assert page.console_errors == []


def test_admin_closes_the_clinic_for_a_day(page, live_server_url, artifacts):
    sign_in(page, live_server_url, "orgadmin@harbour-health.test")
    page.goto(f"{live_server_url}/settings/closures/")
    page.get_by_label("First day").fill("2030-02-11")
    page.get_by_label("Reason").fill("Staff training day")
    page.get_by_role("button", name="Add closure").click()
    page.wait_for_url("**/settings/closures/")
    row = page.get_by_role("row", name="Staff training day")
    assert row.is_visible() and "Mon 11 Feb 2030" in row.inner_text()
    page.screenshot(path=str(artifacts / "closures.png"), full_page=True)
    assert page.console_errors == []

"""Smoke test through the real pages: sign in, live updates, sidebar, mobile navigation."""

import pytest

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_doctor_signs_in_and_sees_a_live_dashboard(page, live_server_url, artifacts):
    sign_in(page, live_server_url, "doctor1@harbour-health.test")
    assert "Harbour Health Clinic" in page.content()
    page.wait_for_selector("#live-status[data-state='connected']", timeout=15_000)
    page.screenshot(path=str(artifacts / "dashboard-doctor.png"), full_page=True)
    assert page.console_errors == []


def test_wrong_password_keeps_the_visitor_on_the_sign_in_page(page, live_server_url):
    page.goto(f"{live_server_url}/login/")
    page.fill("#id_username", "doctor1@harbour-health.test")
    page.fill("#id_password", "not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.url.startswith(f"{live_server_url}/login/")
    assert page.get_by_role("alert").is_visible()


def test_compact_sidebar_survives_a_reload(page, live_server_url):
    sign_in(page, live_server_url, "orgadmin@himalaya-care.test")
    toggle = page.locator("#sidebar-toggle")
    toggle.click()
    assert page.evaluate("document.documentElement.classList.contains('sidebar-compact')")
    assert toggle.get_attribute("aria-expanded") == "false"
    page.reload()
    assert page.evaluate("localStorage.getItem('caresync.sidebar')") == "compact"
    assert page.evaluate("document.documentElement.classList.contains('sidebar-compact')")


def test_mobile_navigation_opens_as_an_overlay_and_closes_on_escape(
    browser, live_server_url, artifacts
):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        sign_in(page, live_server_url, "patient1@harbour-health.test")
        opener = page.locator("#sidebar-open")
        opener.click()
        assert page.evaluate("document.body.classList.contains('sidebar-open')")
        page.screenshot(path=str(artifacts / "mobile-navigation.png"))
        page.keyboard.press("Escape")
        assert not page.evaluate("document.body.classList.contains('sidebar-open')")
        assert page.evaluate("document.activeElement.id") == "sidebar-open"
    finally:
        context.close()


@pytest.mark.parametrize(
    ("path", "ready"),
    [("/api/v1/docs/", ".swagger-ui .info"), ("/api/v1/redoc/", ".api-content h1")],
)
def test_api_docs_render_from_local_assets(page, live_server_url, path, ready):
    sign_in(page, live_server_url, "admin@caresync.test")
    page.wait_for_load_state("load")
    loaded, problems = [], []
    page.on("requestfinished", lambda request: loaded.append(request.url))
    page.on("response", lambda r: r.status >= 400 and problems.append((r.url, r.status)))
    page.goto(f"{live_server_url}{path}")
    page.wait_for_selector(ready, timeout=15_000)
    page.wait_for_load_state("networkidle")
    assert problems == []
    # Everything that loaded came from CareSync itself: no CDN at run time.
    origins = (live_server_url, f"blob:{live_server_url}")
    assert loaded and all(url.startswith(origins) for url in loaded), loaded


@pytest.mark.parametrize(
    ("email", "heading_text", "nav"),
    [
        ("admin@caresync.test", "Organizations", "Organizations"),
        ("orgadmin@harbour-health.test", "Harbour Health Clinic", "Members"),
        ("doctor1@himalaya-care.test", "Himalaya Care Hospital", "Dashboard"),
        ("nurse1@harbour-health.test", "Harbour Health Clinic", "Dashboard"),
        ("radiologist1@harbour-health.test", "Harbour Health Clinic", "Dashboard"),
        ("staff1@himalaya-care.test", "Himalaya Care Hospital", "Dashboard"),
        ("patient1@harbour-health.test", "Harbour Health Clinic", "Dashboard"),
    ],
)
def test_every_demo_role_lands_on_its_dashboard(page, live_server_url, email, heading_text, nav):
    sign_in(page, live_server_url, email)
    role = page.evaluate("document.body.dataset.role")
    expected_role = {
        "admin": "platform_admin",
        "orgadmin": "org_admin",
        "doctor1": "practitioner",
        "nurse1": "practitioner",
        "radiologist1": "practitioner",
        "staff1": "staff",
        "patient1": "patient",
    }[email.split("@")[0]]
    assert role == expected_role
    assert heading_text in page.content()
    assert page.get_by_role("navigation", name="Main").get_by_text(nav).is_visible()
    assert page.console_errors == []


def test_org_admin_invites_a_nurse_through_the_members_page(page, live_server_url):
    sign_in(page, live_server_url, "orgadmin@harbour-health.test")
    page.get_by_role("link", name="Members").first.click()
    page.get_by_role("link", name="Invite member").click()
    page.fill("#id_email", "new.nurse@harbour-health.test")
    page.fill("#id_first_name", "Nora")
    page.fill("#id_last_name", "Vance")
    page.select_option("#id_role", "practitioner")
    page.select_option("#id_practitioner_kind", "nurse")
    page.get_by_role("button", name="Send invitation").click()
    page.wait_for_url(f"{live_server_url}/organization/members/")
    assert "Invitation sent to new.nurse@harbour-health.test" in page.content()
    assert "Invitation pending" in page.content()

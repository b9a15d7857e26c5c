"""The sidebar: which sections each role sees. Later capabilities add entries here."""

from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    icon: str
    roles: frozenset[str]

    @property
    def url(self) -> str:
        return reverse(self.url_name)


ALL_ROLES = frozenset({"platform_admin", "org_admin", "practitioner", "staff", "patient"})

NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("Dashboard", "web:dashboard", "layout-dashboard", ALL_ROLES),
    NavItem("Book a visit", "booking", "calendar-days", frozenset({"patient"})),
    NavItem("Appointments", "appointment-list", "calendar", ALL_ROLES),
    NavItem(
        "Calendar", "calendar", "calendar-days", frozenset({"org_admin", "practitioner", "staff"})
    ),
    NavItem(
        "Waitlist", "waitlist", "list-checks", frozenset({"org_admin", "practitioner", "staff"})
    ),
    NavItem("Patients", "patient-list", "users", frozenset({"org_admin", "practitioner", "staff"})),
    NavItem("Radiology", "radiology-worklist", "scan", frozenset({"practitioner"})),
    NavItem("My reports", "my-reports", "file-text", frozenset({"patient"})),
    NavItem(
        "Communications",
        "communications",
        "message-square",
        frozenset({"org_admin", "practitioner", "staff"}),
    ),
    NavItem(
        "Practitioners",
        "practitioner-list",
        "stethoscope",
        frozenset({"org_admin", "practitioner", "staff", "patient"}),
    ),
    NavItem("Services", "service-list", "clipboard-list", frozenset({"org_admin"})),
    NavItem("Working hours", "closures", "clock", frozenset({"org_admin", "staff"})),
    NavItem("Members", "org-members", "users", frozenset({"org_admin"})),
    NavItem(
        "Audit trail", "audit-events", "shield-check", frozenset({"org_admin", "platform_admin"})
    ),
    NavItem("Break-glass", "break-glass-review", "triangle-alert", frozenset({"org_admin"})),
    NavItem("Notifications", "notification-settings", "bell", frozenset({"org_admin"})),
    NavItem("Note templates", "note-template-settings", "clipboard-list", frozenset({"org_admin"})),
    NavItem("Clinical access", "clinical-access-settings", "lock", frozenset({"org_admin"})),
    NavItem("Settings", "org-settings", "settings", frozenset({"org_admin"})),
    NavItem("Organizations", "platform-organizations", "building-2", frozenset({"platform_admin"})),
    NavItem("API docs", "api-docs", "book-open", frozenset({"platform_admin", "org_admin"})),
    NavItem("System health", "web:system", "activity", frozenset({"platform_admin"})),
)


def nav_for_roles(roles: set[str], current_path: str) -> list[dict]:
    items = [
        {"label": item.label, "url": item.url, "icon": item.icon, "active": False}
        for item in NAV_ITEMS
        if roles & item.roles
    ]
    # The longest matching address is the current section (/audit/break-glass/ over /audit/).
    matches = [
        i
        for i in items
        if current_path == i["url"] or (i["url"] != "/" and current_path.startswith(i["url"]))
    ]
    if matches:
        max(matches, key=lambda i: len(i["url"]))["active"] = True
    return items

"""Organization admins' clinical settings pages: note templates per service (list, write,
deactivate) and staff clinical-access grants (grant, revoke). Only org admins of the
organization; every change audited; bad input shows errors and changes nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from caresync.core.models import AuditEvent
from caresync.core.policy import Actor
from caresync.directory.services import service_save
from caresync.records.access import staff_grant_active
from caresync.records.models import ClinicalAccessGrant, NoteTemplate
from caresync.records.services import clinical_access_grant, note_template_save

pytestmark = pytest.mark.django_db

TEMPLATES = "/settings/note-templates/"
ACCESS = "/settings/clinical-access/"


@pytest.fixture
def consult(tenant_a):
    return service_save(
        actor=None,
        organization=tenant_a.organization,
        name="GP consultation",
        category="in_person",
        duration_minutes=30,
    )


def template_of(tenant, service=None, name="GP visit"):
    return note_template_save(
        actor=tenant.admin,
        organization=tenant.organization,
        name=name,
        service=service,
        subjective="<p>Presenting complaint</p>",
    )


def template_form(service, **overrides):
    return {
        "name": "GP visit",
        "service": service.pk,
        "note_type": "soap",
        "title": "",
        "subjective": "<p onclick='x()'>Complaint</p><script>alert(1)</script>",
        "objective": "",
        "assessment": "",
        "plan": "<p>Review in 2 weeks</p>",
        "is_active": "on",
        **overrides,
    }


def staff_actor(tenant):
    return Actor(
        user=tenant.staff, organization=tenant.organization, roles=frozenset({"user", "staff"})
    )


# --- Note templates ---------------------------------------------------------------------------


def test_an_org_admin_writes_a_template_which_is_sanitized_and_audited(client, tenant_a, consult):
    client.force_login(tenant_a.admin)
    listed = client.get(TEMPLATES)
    assert listed.status_code == 200 and listed.context["templates"] == []
    saved = client.post(f"{TEMPLATES}new/", template_form(consult))
    assert saved.status_code == 302 and saved.url == TEMPLATES
    template = NoteTemplate.objects.get()
    assert template.service == consult and template.organization == tenant_a.organization
    assert "script" not in template.subjective and "onclick" not in template.subjective
    assert "Complaint" in template.subjective
    event = AuditEvent.objects.get(action="create", object_type="records.notetemplate")
    assert event.actor == tenant_a.admin and event.organization == tenant_a.organization
    page = client.get(TEMPLATES).content.decode()
    assert "GP visit" in page and "GP consultation" in page


def test_an_org_admin_edits_and_deactivates_a_template(client, tenant_a, consult):
    template = template_of(tenant_a, consult)
    client.force_login(tenant_a.admin)
    form = client.get(f"{TEMPLATES}{template.pk}/")
    assert form.status_code == 200 and form.context["form"].initial["service"] == consult.pk
    changed = client.post(f"{TEMPLATES}{template.pk}/", template_form(consult, name="GP review"))
    assert changed.status_code == 302
    template.refresh_from_db()
    assert template.name == "GP review"
    update = AuditEvent.objects.filter(action="update", object_type="records.notetemplate").get()
    assert update.details["changed"] == ["name"]
    assert client.post(f"{TEMPLATES}{template.pk}/deactivate/").status_code == 302
    template.refresh_from_db()
    assert template.is_active is False
    assert AuditEvent.objects.filter(
        action="update", object_type="records.notetemplate", details__is_active=False
    ).exists()
    # A new active template for the service is possible now.
    assert client.post(f"{TEMPLATES}new/", template_form(consult)).status_code == 302
    assert NoteTemplate.objects.filter(service=consult, is_active=True).count() == 1


def test_an_invalid_template_form_shows_errors_and_changes_nothing(client, tenant_a, consult):
    existing = template_of(tenant_a, consult)
    client.force_login(tenant_a.admin)
    empty = client.post(f"{TEMPLATES}new/", template_form(consult, name=""))
    assert empty.status_code == 200 and "name" in empty.context["form"].errors
    clash = client.post(f"{TEMPLATES}new/", template_form(consult, name="Second"))
    assert clash.status_code == 200
    assert "already has an active template" in " ".join(clash.context["form"].errors["service"])
    unknown = client.post(f"{TEMPLATES}new/", template_form(consult, note_type="poem"))
    assert unknown.status_code == 200 and "note_type" in unknown.context["form"].errors
    assert list(NoteTemplate.objects.all()) == [existing]
    assert AuditEvent.objects.filter(object_type="records.notetemplate").count() == 1


def test_other_roles_are_refused_the_template_pages(client, tenant_a, consult):
    template = template_of(tenant_a, consult)
    for user in (tenant_a.doctor, tenant_a.nurse, tenant_a.staff, tenant_a.patient):
        client.force_login(user)
        assert client.get(TEMPLATES).status_code == 403, user
        assert client.post(f"{TEMPLATES}new/", template_form(consult)).status_code == 403
        assert client.post(f"{TEMPLATES}{template.pk}/deactivate/").status_code == 403
    template.refresh_from_db()
    assert template.is_active and NoteTemplate.objects.count() == 1


def test_another_organizations_templates_are_invisible(client, tenant_a, tenant_b, consult):
    template = template_of(tenant_a, consult)
    client.force_login(tenant_b.admin)
    assert client.get(TEMPLATES).context["templates"] == []
    assert client.get(f"{TEMPLATES}{template.pk}/").status_code == 404
    assert client.post(f"{TEMPLATES}{template.pk}/", template_form(consult)).status_code == 404
    assert client.post(f"{TEMPLATES}{template.pk}/deactivate/").status_code == 404
    # Nor can another organization's service be chosen.
    refused = client.post(f"{TEMPLATES}new/", template_form(consult))
    assert refused.status_code == 200 and "service" in refused.context["form"].errors
    template.refresh_from_db()
    assert template.is_active and NoteTemplate.objects.count() == 1


def test_the_visit_note_starts_from_the_template_written_here(client, tenant_a, consult):
    from caresync.records.selectors import note_template_for
    from caresync.scheduling.models import Appointment

    client.force_login(tenant_a.admin)
    client.post(f"{TEMPLATES}new/", template_form(consult))
    visit = Appointment(organization=tenant_a.organization, service=consult)
    started = note_template_for(appointment=visit)
    assert started["template"] == "GP visit" and "Review in 2 weeks" in started["plan"]


# --- Clinical access grants --------------------------------------------------------------------


@pytest.fixture
def grant(tenant_a):
    return clinical_access_grant(
        actor=tenant_a.admin,
        organization=tenant_a.organization,
        user=tenant_a.staff,
        reason="Billing review",
    )


def grant_form(tenant, **overrides):
    return {"user": tenant.staff.pk, "reason": "Coding audit for March", "days": 3, **overrides}


def test_an_org_admin_grants_a_staff_member_access_which_is_audited(client, tenant_a):
    client.force_login(tenant_a.admin)
    page = client.get(ACCESS)
    assert page.status_code == 200
    choices = [value for value, _ in page.context["form"].fields["user"].choices]
    assert tenant_a.staff.pk in choices and tenant_a.doctor.pk not in choices
    granted = client.post(ACCESS, grant_form(tenant_a))
    assert granted.status_code == 302
    grant = ClinicalAccessGrant.objects.get()
    assert (grant.user, grant.granted_by, grant.reason) == (
        tenant_a.staff,
        tenant_a.admin,
        "Coding audit for March",
    )
    assert timedelta(days=3) - (grant.expires_at - grant.granted_at) < timedelta(seconds=1)
    assert staff_grant_active(staff_actor(tenant_a))
    assert AuditEvent.objects.filter(
        action="create", object_type="records.clinicalaccessgrant", object_id=str(grant.pk)
    ).exists()
    assert "Coding audit for March" in client.get(ACCESS).content.decode()


def test_an_org_admin_revokes_a_grant(client, tenant_a, grant):
    client.force_login(tenant_a.admin)
    assert client.post(f"{ACCESS}{grant.pk}/revoke/").status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None and grant.revoked_by == tenant_a.admin
    assert not staff_grant_active(staff_actor(tenant_a))
    assert AuditEvent.objects.filter(
        action="update", object_type="records.clinicalaccessgrant", details__revoked=True
    ).exists()
    again = client.post(f"{ACCESS}{grant.pk}/revoke/", follow=True)
    assert "already revoked" in again.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reason": "x"}, "reason"),
        ({"days": 0}, "days"),
        ({"days": 91}, "days"),
        ({"user": "doctor"}, "user"),
        ({"user": ""}, "user"),
    ],
)
def test_an_invalid_grant_shows_errors_and_grants_nothing(client, tenant_a, overrides, field):
    if overrides.get("user") == "doctor":
        overrides = {"user": tenant_a.doctor.pk}
    client.force_login(tenant_a.admin)
    response = client.post(ACCESS, grant_form(tenant_a, **overrides))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not ClinicalAccessGrant.objects.exists()
    assert not AuditEvent.objects.filter(object_type="records.clinicalaccessgrant").exists()


def test_other_roles_are_refused_the_access_pages(client, tenant_a, grant):
    for user in (tenant_a.doctor, tenant_a.staff, tenant_a.patient):
        client.force_login(user)
        assert client.get(ACCESS).status_code == 403, user
        assert client.post(ACCESS, grant_form(tenant_a)).status_code == 403
        assert client.post(f"{ACCESS}{grant.pk}/revoke/").status_code == 403
    grant.refresh_from_db()
    assert grant.revoked_at is None and ClinicalAccessGrant.objects.count() == 1


def test_another_organizations_grants_and_staff_are_invisible(client, tenant_a, tenant_b, grant):
    client.force_login(tenant_b.admin)
    page = client.get(ACCESS)
    assert page.context["grants"] == []
    assert tenant_a.staff.pk not in [v for v, _ in page.context["form"].fields["user"].choices]
    assert client.post(f"{ACCESS}{grant.pk}/revoke/").status_code == 404
    refused = client.post(ACCESS, grant_form(tenant_a))
    assert refused.status_code == 200 and "user" in refused.context["form"].errors
    grant.refresh_from_db()
    assert grant.revoked_at is None and ClinicalAccessGrant.objects.count() == 1


def test_expired_grants_are_listed_as_expired_without_a_revoke_button(client, tenant_a, grant):
    ClinicalAccessGrant.objects.filter(pk=grant.pk).update(
        granted_at=timezone.now() - timedelta(days=3),
        expires_at=timezone.now() - timedelta(days=2),
    )
    client.force_login(tenant_a.admin)
    html = client.get(ACCESS).content.decode()
    assert "Expired" in html and f"{ACCESS}{grant.pk}/revoke/" not in html


def test_the_sidebar_links_the_pages_for_org_admins_only(client, tenant_a):
    client.force_login(tenant_a.admin)
    nav = {item["label"]: item["url"] for item in client.get(ACCESS).context["nav_items"]}
    assert nav["Note templates"] == TEMPLATES and nav["Clinical access"] == ACCESS
    client.force_login(tenant_a.doctor)
    labels = {item["label"] for item in client.get("/").context["nav_items"]}
    assert not {"Note templates", "Clinical access"} & labels

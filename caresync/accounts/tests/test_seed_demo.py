import pytest
from django.core.management import CommandError, call_command

from caresync.accounts.models import Membership, Organization, User

pytestmark = pytest.mark.django_db


def counts():
    return (Organization.objects.count(), User.objects.count(), Membership.objects.count())


def test_seed_demo_creates_two_organizations_in_different_time_zones(capsys):
    call_command("seed_demo")
    zones = set(Organization.objects.values_list("time_zone", flat=True))
    assert zones == {"Australia/Sydney", "Asia/Kathmandu"}
    for organization in Organization.objects.all():
        members = Membership.objects.filter(organization=organization)
        assert members.filter(role="org_admin").count() == 1
        assert members.filter(practitioner_kind="doctor").count() == 2
        assert members.filter(practitioner_kind="nurse").count() == 2
        assert members.filter(practitioner_kind="radiologist").count() == 1
        assert members.filter(role="staff").count() == 1
        assert members.filter(role="patient").count() >= 20
    assert User.objects.get(email="admin@caresync.test").is_platform_admin
    out = capsys.readouterr().out
    assert "admin@caresync.test" in out
    assert "doctor1@harbour-health.test" in out
    assert "caresync-demo" in out


def test_seed_demo_is_idempotent():
    call_command("seed_demo", quiet_logins=True)
    first = counts()
    call_command("seed_demo", quiet_logins=True)
    assert counts() == first


def test_demo_logins_work_with_the_demo_password(client):
    call_command("seed_demo", quiet_logins=True)
    response = client.post(
        "/login/", {"username": "doctor1@himalaya-care.test", "password": "caresync-demo"}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_seed_demo_is_refused_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="refused"):
        call_command("seed_demo")
    assert counts() == (0, 0, 0)


def test_demo_oauth_client_issues_tokens_for_demo_users(client):
    call_command("seed_demo", quiet_logins=True)
    response = client.post(
        "/api/v1/auth/token/",
        {
            "grant_type": "password",
            "username": "doctor1@harbour-health.test",
            "password": "caresync-demo",
            "client_id": "caresync-demo-app",
            "client_secret": "caresync-demo",
            "scope": "user/*.read",
        },
    )
    assert response.status_code == 200, response.content

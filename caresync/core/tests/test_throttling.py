"""API rate limits: a counter per period, one cache operation per request."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache

from caresync.core import throttling

pytestmark = pytest.mark.django_db
# A period's start (DRF counts in seconds since the epoch; a minute divides it evenly).
PERIOD_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def rates(monkeypatch):
    monkeypatch.setattr(
        throttling.CountingRateThrottle,
        "THROTTLE_RATES",
        {"anon": "3/minute", "user": "3/minute", "account": "2/minute"},
    )


def test_a_user_over_the_rate_is_refused_until_the_next_period(api_as, tenant_a, tenant_b):
    nurse = api_as(tenant_a.nurse)
    with time_machine.travel(PERIOD_START + timedelta(seconds=15), tick=False):
        assert [nurse.get("/api/v1/notifications/").status_code for _ in range(3)] == [200] * 3
        refused = nurse.get("/api/v1/notifications/")
        # Others have their own count.
        assert api_as(tenant_b.nurse).get("/api/v1/notifications/").status_code == 200
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert refused["Retry-After"] == "45"  # the rest of the minute
    with time_machine.travel(PERIOD_START + timedelta(minutes=1), tick=False):
        assert nurse.get("/api/v1/notifications/").status_code == 200


def test_the_count_is_one_number_per_user_and_period(api_as, tenant_a):
    nurse = api_as(tenant_a.nurse)
    with time_machine.travel(PERIOD_START, tick=False):
        for _ in range(2):
            nurse.get("/api/v1/notifications/")
        period = int(PERIOD_START.timestamp() // 60)
        assert cache.get(f"throttle_user_{tenant_a.nurse.pk}:{period}") == 2


def test_a_refused_request_changes_nothing(
    api_client, tenant_a, django_capture_on_commit_callbacks
):
    """The account scope (2 a minute per address): the third reset request sends nothing."""
    with (
        time_machine.travel(PERIOD_START, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        answers = [
            api_client.post(
                "/api/v1/auth/password-reset/", {"email": tenant_a.nurse.email}, format="json"
            ).status_code
            for _ in range(3)
        ]
    assert answers == [202, 202, 429]
    assert len(mail.outbox) == 2


def test_an_unreachable_cache_refuses_nothing(api_as, tenant_a, monkeypatch):
    class Unreachable:
        """As django-redis answers with IGNORE_EXCEPTIONS while Redis is down."""

        def incr(self, key):
            return None

    monkeypatch.setattr(throttling.CountingRateThrottle, "cache", Unreachable())
    nurse = api_as(tenant_a.nurse)
    assert {nurse.get("/api/v1/notifications/").status_code for _ in range(5)} == {200}

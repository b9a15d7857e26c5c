import pytest

pytestmark = pytest.mark.django_db


def test_health_reports_every_component_up(client):
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["components"]) == {"database", "cache", "channel_layer", "broker"}
    for name, component in body["components"].items():
        assert component["status"] == "ok", (name, component)
        assert component["latency_ms"] >= 0


def test_health_is_503_when_the_cache_is_down(client, monkeypatch):
    from django.core.cache import cache

    def broken_set(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    monkeypatch.setattr(cache, "set", broken_set)
    response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["components"]["cache"]["status"] == "down"
    assert "cache unreachable" in body["components"]["cache"]["error"]
    assert body["components"]["database"]["status"] == "ok"


def test_health_is_503_when_the_broker_is_unreachable(client, monkeypatch):
    from caresync.core import selectors

    def broken_broker():
        raise ConnectionRefusedError("broker refused")

    monkeypatch.setattr(selectors, "_broker", broken_broker)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["components"]["broker"]["status"] == "down"


def test_health_shows_scheduler_heartbeat_once_beat_has_fired(client):
    from caresync.core.tasks import heartbeat

    assert client.get("/health/").json()["scheduler"]["status"] == "unknown"
    heartbeat.delay()
    scheduler = client.get("/health/").json()["scheduler"]
    assert scheduler["status"] == "ok"
    assert scheduler["last_beat"]


def test_health_accepts_only_get(client):
    assert client.post("/health/").status_code == 405

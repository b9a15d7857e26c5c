"""The WSGI application freezes the heap once, after its warm-up requests are sent."""

import gc

from caresync.core import heap


class Response(list):
    closed = False

    def close(self):
        self.closed = True


def test_the_heap_is_frozen_once_after_the_warm_up_response_is_sent(monkeypatch):
    events = []
    monkeypatch.setattr(gc, "collect", lambda: events.append("collect"))
    monkeypatch.setattr(gc, "freeze", lambda: events.append("freeze"))
    responses = []

    def application(environ, start_response):
        responses.append(Response([b"ok"]))
        return responses[-1]

    served = heap.FreezeAfterWarmUp(application, warm_up=3)
    answers = [served({}, None) for _ in range(2)]
    assert events == [] and answers == responses  # passed through as they are
    third = served({}, None)
    assert list(third) == [b"ok"] and events == []  # not while it is being sent
    third.close()
    assert responses[2].closed and events == ["collect", "freeze"]
    for _ in range(5):
        served({}, None)
    assert events == ["collect", "freeze"]


def test_the_project_wsgi_application_freezes_after_warming_up():
    from caresync.wsgi import application

    assert isinstance(application, heap.FreezeAfterWarmUp)
    assert application.warm_up == heap.WARM_UP_REQUESTS

"""Garbage collection in long-running web processes.

A web process holds a few hundred thousand long-lived objects (modules, classes, URL
patterns, compiled queries). CPython's full collections walk all of them: on this project
about a tenth of a second, several times a minute under load, during which the process
answers nobody, so the requests queued behind it each wait that long. After a warm-up (the
lazily imported code paths loaded, the caches filled), ``gc.freeze`` moves everything then
alive out of the collector's sight: later collections walk only what requests create.
"""

import gc
import threading

WARM_UP_REQUESTS = 20


class FreezeAfterWarmUp:
    """WSGI middleware: once the process has served ``warm_up`` requests, collect and
    freeze the heap, after that response has been sent (when the server closes it)."""

    def __init__(self, application, warm_up: int = WARM_UP_REQUESTS):
        self.application = application
        self.warm_up = warm_up
        self._served = 0
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        response = self.application(environ, start_response)
        with self._lock:
            self._served += 1
            due = self._served == self.warm_up
        return _ThenFreeze(response) if due else response


class _ThenFreeze:
    """A response whose ``close`` (after it is sent) also freezes the heap."""

    def __init__(self, response):
        self.response = response

    def __iter__(self):
        return iter(self.response)

    def close(self):
        try:
            if hasattr(self.response, "close"):
                self.response.close()
        finally:
            gc.collect()
            gc.freeze()

"""API rate limits that cost one cache operation per request, whatever the rate.

DRF's rate throttles keep the time of every request of the last period in one cache entry,
read and written whole on each request: at the default user rate that is a list of up to
2,000 floats unpickled and pickled again by every request. These count requests per fixed
period instead, with one atomic increment of the period's counter. A client can make up to
twice the rate across the boundary of two periods, the usual price of fixed windows."""

from rest_framework import throttling


class CountingRateThrottle(throttling.SimpleRateThrottle):
    """DRF's ``SimpleRateThrottle`` over a counter per period (keys as DRF builds them, with
    the period's number appended). Listed after a DRF throttle class, it takes over from
    ``SimpleRateThrottle`` in that class's ``allow_request``."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        period = int(self.now // self.duration)
        self.period_ends = (period + 1) * self.duration
        counted = self._count(f"{self.key}:{period}")
        # None: the cache cannot be reached, and a cache outage must not refuse requests.
        return counted is None or counted <= self.num_requests

    def _count(self, key: str) -> int | None:
        try:
            return self.cache.incr(key)
        except ValueError:  # the period's first request (or its counter was evicted)
            if self.cache.add(key, 1, timeout=self.duration + 1):
                return 1
            return self.cache.incr(key)  # another request created it meanwhile

    def wait(self) -> float:
        return max(self.period_ends - self.now, 0.0)


class AnonRateThrottle(throttling.AnonRateThrottle, CountingRateThrottle):
    """Requests without a user, per client address (``anon`` rate)."""


class UserRateThrottle(throttling.UserRateThrottle, CountingRateThrottle):
    """Requests per signed-in user (``user`` rate)."""


class ScopedRateThrottle(throttling.ScopedRateThrottle, CountingRateThrottle):
    """Requests per user or address to views of one ``throttle_scope``."""

"""Request context (id, client address, user agent) for logs, error bodies and the audit trail."""

import contextlib
import contextvars
import ipaddress
import logging
import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@dataclass(frozen=True)
class RequestContext:
    request_id: str = "-"
    ip: str | None = None
    user_agent: str = ""


_NO_REQUEST = RequestContext()
_context: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "request_context", default=_NO_REQUEST
)


def current_request_context() -> RequestContext:
    return _context.get()


def current_request_id() -> str:
    return _context.get().request_id


@contextlib.contextmanager
def request_context(*, request_id: str | None = None, ip: str | None = None, user_agent: str = ""):
    """Set the context outside HTTP requests (WebSocket consumers, tasks, commands)."""
    token = _context.set(
        RequestContext(request_id=request_id or uuid.uuid4().hex, ip=ip, user_agent=user_agent)
    )
    try:
        yield
    finally:
        _context.reset(token)


class ForwardedClientMiddleware:
    """Behind a reverse proxy the connection comes from the proxy: when it comes from one of
    ``TRUSTED_PROXIES`` (addresses or networks), the client is the last address in
    ``X-Forwarded-For`` that is not a trusted proxy itself, and ``REMOTE_ADDR`` becomes that
    address for everything after (audit trail, sign-in lockouts, logs). The walk stops at
    an entry that is not an address; from anyone else the header is never believed."""

    def __init__(self, get_response):
        self.get_response = get_response
        try:
            self.proxies = [ipaddress.ip_network(n, strict=False) for n in settings.TRUSTED_PROXIES]
        except ValueError as error:
            raise ImproperlyConfigured(f"TRUSTED_PROXIES: {error}") from error

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.proxies)

    def __call__(self, request):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded and self._trusted(request.META.get("REMOTE_ADDR", "")):
            for hop in reversed([part.strip() for part in forwarded.split(",")]):
                try:
                    ipaddress.ip_address(hop)
                except ValueError:
                    break
                request.META["REMOTE_ADDR"] = hop
                if not self._trusted(hop):
                    break
        return self.get_response(request)


class RequestIdMiddleware:
    """Take ``X-Request-ID`` when well-formed, else generate one; echo it in the response."""

    header = "X-Request-ID"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(self.header, "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        with request_context(
            request_id=request_id,
            ip=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.headers.get("User-Agent", "")[:512],
        ):
            response = self.get_response(request)
        response[self.header] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True

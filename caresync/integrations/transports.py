"""The one interface every delivery transport implements.

A transport hands one message to a provider and answers with the provider's id, or raises
``TransportError`` saying whether trying again could help (``permanent``). ``lookup`` finds
a message the provider already accepted when a worker died before recording the answer;
transports that cannot ask their provider return None (at-least-once)."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class OutgoingMessage:
    notification_id: int
    channel: str
    to: str
    body: str
    subject: str = ""
    html: str = ""
    # A stable id per notification: email Message-ID, idempotency hints, callbacks.
    reference: str = ""
    status_callback: str = ""
    known_provider_ids: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    status: str = "sent"  # sent (handed over) or delivered (nothing further to report)


class TransportError(Exception):
    """The provider refused or could not be reached. ``permanent``: retrying cannot help
    (invalid address, opted out); otherwise the delivery is retried with backoff."""

    def __init__(self, message: str, *, permanent: bool = False, code: str = ""):
        super().__init__(message)
        self.permanent = permanent
        self.code = code


class Transport(Protocol):
    name: str

    def send(self, message: OutgoingMessage) -> SendResult: ...

    def lookup(self, message: OutgoingMessage, *, since: datetime) -> SendResult | None: ...

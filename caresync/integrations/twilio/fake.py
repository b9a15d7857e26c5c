"""A local fake of Twilio's Messages API (2010-04-01) for tests and benchmarks: the
documented request parameters, JSON resources and error shapes, on 127.0.0.1.

Point the SDK at it with ``TWILIO_API_BASE_URL = fake.base_url``. Every accepted message
is a receipt in ``fake.messages``; ``fake.fail_with`` makes the next requests answer an
error (e.g. 503 while the provider is "down") and ``fake.delay`` makes them slow.
"""

import base64
import json
import secrets
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API = "/2010-04-01/Accounts/"
ERRORS = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource was not found"),
    21211: (400, "The 'To' number is not a valid phone number."),
    21602: (400, "Message body is required."),
    21604: (400, "A 'To' phone number is required."),
    21606: (400, "The 'From' phone number provided is not a valid message-capable number."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
}


def _error(code: int, status: int | None = None, message: str | None = None) -> tuple[int, dict]:
    default_status, default_message = ERRORS.get(code, (status or 500, "Error"))
    status = status or default_status
    return status, {
        "code": code,
        "message": message or default_message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class FakeTwilio:
    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "fake-token"):  # noqa: S107
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict] = []
        self.requests = 0
        self.fail_with: tuple[int, int] | None = None  # (HTTP status, Twilio code)
        self.delay = 0.0
        self.unsubscribed: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeTwilio":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def receipts(self, to: str | None = None) -> list[dict]:
        with self._lock:
            return [m for m in self.messages if to is None or m["to"] == to]

    def status_callback(self, sid: str, status: str, error_code: str = "") -> tuple[str, dict, str]:
        """(url, form parameters, X-Twilio-Signature) of the status report Twilio would POST
        to the message's StatusCallback."""
        from twilio.request_validator import RequestValidator

        with self._lock:
            (message,) = [m for m in self.messages if m["sid"] == sid]
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "From": message["from"],
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": message["to"],
        }
        if error_code:
            params["ErrorCode"] = error_code
        url = message["_status_callback"]
        return url, params, RequestValidator(self.auth_token).compute_signature(url, params)

    # --- protocol ---------------------------------------------------------------------

    def _resource(self, sid: str, params: dict) -> dict:
        now = datetime.now(UTC)
        body = params.get("Body", "")
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": format_datetime(now, usegmt=True),
            "date_sent": format_datetime(now, usegmt=True),
            "date_updated": format_datetime(now, usegmt=True),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": params.get("From") or "+15005550006",
            "messaging_service_sid": params.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": str(max(1, -(-len(body) // 153) if len(body) > 160 else 1)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"{API}{self.account_sid}/Messages/{sid}/Media.json"},
            "to": params.get("To"),
            "uri": f"{API}{self.account_sid}/Messages/{sid}.json",
            "_sent_at": now,
        }

    @staticmethod
    def _public(message: dict) -> dict:
        return {k: v for k, v in message.items() if not k.startswith("_")}

    def handle(self, method: str, path: str, query: dict, form: dict, auth: str):
        """(status, JSON body) for one request."""
        self.requests += 1
        if self.delay:
            time.sleep(self.delay)
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if auth != f"Basic {expected}":
            return _error(20003)
        if self.fail_with:
            return _error(self.fail_with[1], self.fail_with[0])
        prefix = f"{API}{self.account_sid}/Messages"
        if path == f"{prefix}.json" and method == "POST":
            return self._create(form)
        if path == f"{prefix}.json" and method == "GET":
            return self._list(query)
        if path.startswith(prefix + "/") and path.endswith(".json") and method == "GET":
            sid = path[len(prefix) + 1 : -len(".json")]
            with self._lock:
                found = [m for m in self.messages if m["sid"] == sid]
            return (200, self._public(found[0])) if found else _error(20404)
        return _error(20404)

    def _create(self, form: dict):
        to, body = form.get("To", ""), form.get("Body", "")
        if not to:
            return _error(21604)
        if not body:
            return _error(21602)
        if not (to.startswith("+") and to[1:].isdigit() and 8 <= len(to) <= 16):
            return _error(21211, message=f"The 'To' number {to} is not a valid phone number.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _error(21606)
        if to in self.unsubscribed:
            return _error(21610)
        message = self._resource("SM" + secrets.token_hex(16), form)
        message["_status_callback"] = form.get("StatusCallback", "")
        with self._lock:
            self.messages.append(message)
        return 201, self._public(message)

    def _list(self, query: dict):
        with self._lock:
            found = list(self.messages)
        if query.get("To"):
            found = [m for m in found if m["to"] == query["To"]]
        if query.get("From"):
            found = [m for m in found if m["from"] == query["From"]]
        after = query.get("DateSent>")
        if after:
            since = datetime.fromisoformat(after.replace("Z", "+00:00"))
            found = [m for m in found if m["_sent_at"] >= since]
        page_size = int(query.get("PageSize", 50))
        found = list(reversed(found))[:page_size]  # newest first, as Twilio lists them
        uri = f"{API}{self.account_sid}/Messages.json"
        return 200, {
            "messages": [self._public(m) for m in found],
            "end": max(0, len(found) - 1),
            "first_page_uri": f"{uri}?PageSize={page_size}&Page=0",
            "next_page_uri": None,
            "page": 0,
            "page_size": page_size,
            "previous_page_uri": None,
            "start": 0,
            "uri": f"{uri}?PageSize={page_size}&Page=0",
        }

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, method: str):
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                form = {k: v[-1] for k, v in parse_qs(raw).items()}
                status, payload = fake.handle(
                    method, parts.path, query, form, self.headers.get("Authorization", "")
                )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802 - http.server's naming
                self._answer("GET")

            def do_POST(self):  # noqa: N802
                self._answer("POST")

            def log_message(self, *args):
                pass

        return Handler

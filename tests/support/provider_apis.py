"""A stand-in for the providers' sending APIs: the WhatsApp Cloud API's
``POST /{phone_number_id}/messages`` and Twilio's ``POST /2010-04-01/Accounts/{sid}/Messages.json``,
one real HTTP server on loopback (a port the OS picks) that checks the credentials, records
every request, answers as the real APIs do, and can be told to fail, redirect or stall the
next requests, so that tests drive Suara's retries."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WHATSAPP_TOKEN = "cloud-api-test-token"
PHONE_NUMBER_ID = "106540352242922"
ACCOUNT_SID = "AC" + "0" * 30 + "42"
AUTH_TOKEN = "twilio-test-auth-token"
TWILIO_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
WHATSAPP_PATH = f"/{PHONE_NUMBER_ID}/messages"


@dataclass
class Request:
    path: str
    headers: dict[str, str]  # lower-case names
    body: dict  # the JSON (WhatsApp) or the form (SMS), parsed
    answered: int


@dataclass
class _Plan:
    status: int
    location: str = ""
    stall: bool = False


class ProviderApis:
    def __init__(self):
        self.requests: list[Request] = []
        self._plans: list[_Plan] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._release = threading.Event()
        apis = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                size = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(size)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer, extra = apis._answer(self.path, headers, raw)
                if status == 0:  # stalled: never answered
                    return
                body = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # what the tests ask of it

    def fail_next(self, count: int, status: int) -> None:
        """Answer the next ``count`` requests with ``status`` (and the API's error body)."""
        with self._lock:
            self._plans.extend(_Plan(status) for _ in range(count))

    def redirect_next(self, location: str, status: int = 302) -> None:
        with self._lock:
            self._plans.append(_Plan(status, location=location))

    def stall_next(self) -> None:
        """Hold the next request unanswered until the server stops."""
        with self._lock:
            self._plans.append(_Plan(0, stall=True))

    def at(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[Request]:
        """The requests, once at least ``count`` have arrived (AssertionError after timeout)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.requests) >= count, timeout_s):
                raise AssertionError(f"{len(self.requests)} request(s), expected {count}")
            return list(self.requests)

    # the APIs

    def _answer(self, path: str, headers: dict, raw: bytes) -> tuple[int, dict, dict]:
        body = _parse(headers.get("content-type", ""), raw)
        with self._lock:
            plan = self._plans.pop(0) if self._plans else None
        if plan is not None and plan.stall:
            self._record(path, headers, body, 0)
            self._release.wait()
            return 0, {}, {}
        if path == WHATSAPP_PATH:
            status, answer = self._whatsapp(headers, body, plan)
        elif path == TWILIO_PATH:
            status, answer = self._twilio(headers, body, plan)
        else:
            status, answer = 404, {"error": "not found"}
        extra = {"Location": plan.location} if plan is not None and plan.location else {}
        if status == 429:
            extra["Retry-After"] = "1"
        self._record(path, headers, body, status)
        return status, answer, extra

    def _record(self, path: str, headers: dict, body: dict, status: int) -> None:
        with self._changed:
            self.requests.append(Request(path, headers, body, status))
            self._changed.notify_all()

    def _whatsapp(self, headers: dict, body: dict, plan: _Plan | None) -> tuple[int, dict]:
        if headers.get("authorization") != f"Bearer {WHATSAPP_TOKEN}":
            return 401, _graph_error(190, "Invalid OAuth access token.")
        if plan is not None and plan.status >= 500:
            return plan.status, _graph_error(131000, "Something went wrong")
        if plan is not None:
            return plan.status, _graph_error(131026, f"Message undeliverable to {body.get('to')}")
        if body.get("messaging_product") != "whatsapp" or body.get("type") not in (
            "text",
            "template",
        ):
            return 400, _graph_error(100, "(#100) Invalid parameter")
        message = {"id": f"wamid.{uuid.uuid4().hex}"}
        if body["type"] == "template":
            message["message_status"] = "accepted"
        to = body.get("to", "")
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
            "messages": [message],
        }

    def _twilio(self, headers: dict, body: dict, plan: _Plan | None) -> tuple[int, dict]:
        login = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if headers.get("authorization") != f"Basic {login}":
            return 401, _twilio_error(20003, "Authenticate", 401)
        if plan is not None and plan.status >= 500:
            return plan.status, _twilio_error(20500, "Internal Server Error", plan.status)
        if plan is not None:  # the real API quotes the number: Suara must not pass it on
            message = f"The 'To' number {body.get('To')} is not a valid phone number."
            return plan.status, _twilio_error(21211, message, plan.status)
        if not body.get("To"):
            return 400, _twilio_error(21604, "A 'To' phone number is required.", 400)
        if not body.get("Body"):
            return 400, _twilio_error(21602, "Message body is required.", 400)
        if not body.get("From") and not body.get("MessagingServiceSid"):
            return 400, _twilio_error(21603, "A 'From' phone number is required.", 400)
        sid = "SM" + uuid.uuid4().hex
        return 201, {
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "to": body["To"],
            "from": body.get("From"),
            "messaging_service_sid": body.get("MessagingServiceSid"),
            "body": body["Body"],
            "status": "queued" if body.get("From") else "accepted",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
        }

    def __enter__(self) -> ProviderApis:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


def _parse(kind: str, raw: bytes) -> dict:
    try:
        if kind.startswith("application/json"):
            parsed = json.loads(raw)
            return parsed if isinstance(parsed, dict) else {}
        return dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))
    except (ValueError, UnicodeDecodeError):
        return {}


def _graph_error(code: int, message: str) -> dict:
    return {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": uuid.uuid4().hex[:16],
        }
    }


def _twilio_error(code: int, message: str, status: int) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }

"""A stand-in for the providers' own APIs, a real HTTP server on loopback that records what it
was asked, so that tests point Suara at it: the WhatsApp Graph API's media endpoints and its
messages endpoint (POST /{phone number id}/messages), and Twilio's Messages API (POST
/2010-04-01/Accounts/{sid}/Messages.json)."""

from __future__ import annotations

import io
import json
import threading
import urllib.parse
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

GRAPH_PORT = 18099
GRAPH_TOKEN = "graph-test-token"
PHONE_NUMBER_ID = "109876543210"  # Suara's WhatsApp number, as the Cloud API names it
TWILIO_ACCOUNT_SID = "AC" + "0" * 32
SMS_FROM = "+6285700000000"


@dataclass
class Sent:
    """A message Suara sent through a provider: ``to`` and the parsed body."""

    channel: str  # whatsapp | sms
    to: str
    body: dict


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x0110] = "WA Camera"
    exif.get_ifd(0x8825)[1] = "S"
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (40, 120, 40)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


class Graph:
    """GET /<media id> -> {"url": ...}; GET /files/<media id> -> the photo (bearer token)."""

    def __init__(self, port: int = GRAPH_PORT):
        self.requests: list[str] = []
        self.sent: list[Sent] = []
        self.photo = jpeg_with_gps()
        graph = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                graph.requests.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {GRAPH_TOKEN}":
                    return self._send(401, b'{"error": "token"}', "application/json")
                if self.path.startswith("/files/"):
                    return self._send(200, graph.photo, "image/jpeg")
                if self.path.startswith("/redirect"):
                    self.send_response(302)
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data")
                    self.end_headers()
                    return None
                media_id = self.path.strip("/")
                url = f"http://127.0.0.1:{port}/files/{media_id}"
                if media_id == "evil":
                    url = "http://169.254.169.254/latest/meta-data"
                body = json.dumps({"url": url, "mime_type": "image/jpeg", "id": media_id})
                return self._send(200, body.encode(), "application/json")

            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == f"/{PHONE_NUMBER_ID}/messages":
                    if self.headers.get("Authorization") != f"Bearer {GRAPH_TOKEN}":
                        return self._send(401, b'{"error": {"code": 190}}', "application/json")
                    body = json.loads(raw)
                    graph.sent.append(Sent("whatsapp", body["to"], body))
                    answer = {"messages": [{"id": f"wamid.{uuid.uuid4().hex}"}]}
                    return self._send(200, json.dumps(answer).encode(), "application/json")
                if self.path == f"/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json":
                    form = dict(urllib.parse.parse_qsl(raw.decode()))
                    graph.sent.append(Sent("sms", form["To"], form))
                    answer = {"sid": f"SM{uuid.uuid4().hex}", "status": "queued"}
                    return self._send(201, json.dumps(answer).encode(), "application/json")
                return self._send(404, b"{}", "application/json")

            def _send(self, status, body, kind):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def sent_to(self, number: str) -> list[Sent]:
        """What was sent to ``number`` (digits, with or without +)."""
        digits = number.lstrip("+")
        return [m for m in list(self.sent) if m.to.lstrip("+") == digits]

    def __enter__(self) -> Graph:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

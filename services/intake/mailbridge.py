"""Intake's SMTP door: ``python -m services.intake.mailbridge`` (beside intake; ``make run``
starts it). The city's mail server forwards citizens' mail to it (SUARA_INBOUND_SMTP_PORT,
default 2525, on SUARA_HTTP_HOST); each message is handed to intake (``POST
/webhooks/email`` with the bridge's API key, SUARA_MAIL_API_KEY) and accepted (250) only once
intake has stored it, so a mail is never lost: when intake cannot take it, the sending server
is told to try again later (451) and does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import urllib.error
import urllib.request

from aiosmtpd.controller import Controller

log = logging.getLogger("suara.mailbridge")
MAX_BYTES = 25_000_000


class Bridge:
    def __init__(self, intake_url: str, api_key: str):
        self.intake_url, self.api_key = intake_url.rstrip("/"), api_key

    def forward(self, raw: bytes) -> tuple[int, str]:
        request = urllib.request.Request(
            self.intake_url + "/webhooks/email",
            data=raw,
            headers={"Content-Type": "message/rfc822", "X-API-Key": self.api_key},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read(2000).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(2000).decode("utf-8", "replace")
        except (urllib.error.URLError, OSError) as exc:
            return 0, str(exc)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        raw = envelope.original_content or envelope.content
        if len(raw) > MAX_BYTES:
            return "552 5.3.4 message too large"
        status, body = await asyncio.get_running_loop().run_in_executor(None, self.forward, raw)
        if status == 200:
            return "250 2.0.0 OK: taken by Suara"
        if 400 <= status < 500 and status not in (401, 403, 408, 429):
            log.warning("intake refused a mail (%s): %s", status, body[:200])
            return "550 5.6.0 refused: " + body[:100].replace("\r", " ").replace("\n", " ")
        log.warning("intake could not take a mail now (%s): %s", status, body[:200])
        return "451 4.3.0 try again later"


def main() -> int:
    logging.basicConfig(level=os.environ.get("SUARA_LOG_LEVEL", "INFO"))
    key = os.environ.get("SUARA_MAIL_API_KEY", "")
    if not key:
        print(
            "mailbridge: SUARA_MAIL_API_KEY is required (a key of SUARA_API_KEYS)", file=sys.stderr
        )
        return 2
    port = int(os.environ.get("SUARA_INBOUND_SMTP_PORT", "2525"))
    host = os.environ.get("SUARA_HTTP_HOST", "127.0.0.1")
    intake = os.environ.get("SUARA_INTAKE_URL") or (
        f"http://127.0.0.1:{os.environ.get('SUARA_INTAKE_PORT', '8001')}"
    )
    controller = Controller(
        Bridge(intake, key), hostname=host, port=port, data_size_limit=MAX_BYTES
    )
    # SIGTERM and SIGINT are blocked in every thread and awaited here: a clean stop
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    controller.start()
    log.info("mail bridge on %s:%s, forwarding to %s", host, port, intake)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

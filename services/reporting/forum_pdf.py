"""The forum report as PDF (``GET /api/v1/reports/forum.pdf``): the printable page printed by
headless Chromium (``--print-to-pdf``) from a file in a temporary directory, with a time limit.
Where no Chromium is installed it is ``Unavailable`` (the service answers 503): the Docker
image needs the ``chromium`` package for this endpoint.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 20.0  # within nginx's proxy_read_timeout (30 s), with the report read before it
MAX_PDF_BYTES = 20 * 1024 * 1024
NO_CHROMIUM = (
    "PDF needs headless Chromium, which is not installed here (binary 'chromium'); "
    "the printable report is at /api/v1/reports/forum.html"
)


class Unavailable(RuntimeError):
    """No PDF can be made here (no Chromium, or it failed or took too long)."""


def chromium() -> str | None:
    return next((found for name in BINARIES if (found := shutil.which(name))), None)


def to_pdf(html: str, timeout_s: float = TIMEOUT_S, binary: str | None = None) -> bytes:
    binary = binary or chromium()
    if binary is None:
        raise Unavailable(NO_CHROMIUM)
    with tempfile.TemporaryDirectory(prefix="suara-forum-") as tmp:
        page, pdf = Path(tmp) / "forum.html", Path(tmp) / "forum.pdf"
        page.write_text(html, encoding="utf-8")
        command = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--no-first-run",
            "--no-pdf-header-footer",
            f"--user-data-dir={tmp}/profile",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]
        # its own session, so that a timeout ends Chromium's helper processes too
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "HOME": tmp},
        )
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise Unavailable(f"Chromium took longer than {timeout_s:g} s") from exc
        if not pdf.exists() or pdf.stat().st_size == 0:
            raise Unavailable(f"Chromium made no PDF (exit status {process.returncode})")
        if pdf.stat().st_size > MAX_PDF_BYTES:
            raise Unavailable("the PDF is too large")
        return pdf.read_bytes()

"""Personal data stays in intake: what leaves it (events, public views) is scrubbed here."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Indonesian mobile and fixed numbers, (0285) 421234 too: +62 / 62 / 0, then 8-13 digits
_PHONE = re.compile(r"(?<!\w)\(?(?:\+?62|0)[\s-]?\d(?:\)?[\s-]?\d){7,12}(?!\w)")
_NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")  # national identity number (NIK)


def redact(text: str) -> str:
    """Replace e-mail addresses, phone numbers and NIK numbers in free text."""
    text = _EMAIL.sub("[email]", text)
    text = _NIK.sub("[nik]", text)
    return _PHONE.sub("[phone]", text)


def event_location(location: dict | None) -> dict | None:
    """The part of a location that may leave intake (no street address)."""
    if not location:
        return None
    kept = {k: location.get(k) for k in ("lat", "lon", "kecamatan", "kelurahan")}
    return {k: v for k, v in kept.items() if v is not None} or None

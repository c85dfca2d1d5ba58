"""CSRF protection of the web forms (pure): a signed double-submit token, no server session.

The form page sets a cookie with a random nonce (HttpOnly, SameSite=Strict) and puts
``nonce.issued.page.signature`` in a hidden field (``page``: random for each page shown, so
the token also names that one form: the web form's idempotency key); a POST is taken only if
the field's signature is intake's (any of SUARA_SECRET_KEYS), it is not older than
``MAX_AGE_S``, and its nonce is the cookie's. Another site can neither read the cookie nor
forge the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

COOKIE = "suara_csrf"
FIELD = "csrf"
MAX_AGE_S = 2 * 3600
_PURPOSE = b"suara-csrf\x1f"


def _sign(key: str, nonce: str, issued: int, page: str) -> str:
    mac = hmac.new(key.encode(), _PURPOSE + f"{nonce}.{issued}.{page}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:18]).decode()


def issue(keys: tuple[str, ...], nonce: str | None = None, now: float | None = None):
    """(the cookie's nonce, the form field's token); a valid cookie nonce is kept."""
    if not nonce or len(nonce) != 22:
        nonce = secrets.token_urlsafe(16)
    issued = int(time.time() if now is None else now)
    page = secrets.token_urlsafe(9)
    return nonce, f"{nonce}.{issued}.{page}.{_sign(keys[0], nonce, issued, page)}"


def valid(keys: tuple[str, ...], cookie: str | None, token: str | None, now: float | None = None):
    if not cookie or not token or token.count(".") != 3 or len(token) > 200:
        return False
    nonce, issued, page, signature = token.split(".")
    if not issued.isdigit() or not hmac.compare_digest(nonce.encode(), cookie.encode()):
        return False
    age = (time.time() if now is None else now) - int(issued)
    if not 0 <= age <= MAX_AGE_S:
        return False
    return any(
        hmac.compare_digest(signature.encode(), _sign(k, nonce, int(issued), page).encode())
        for k in keys
    )

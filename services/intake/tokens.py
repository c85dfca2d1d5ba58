"""The citizen's token (pure): proof that a request comes from whoever submitted the case.

The token is an HMAC of the case's id under intake's secret, so it is never stored: a
repeated submission (the same Idempotency-Key) gets the same token back, and a leaked database
leaks no token. Several secrets may be configured: the first signs, all verify (rotation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_PURPOSE = b"suara-citizen-token\x1f"


def citizen_token(keys: tuple[str, ...], feedback_id: str) -> str:
    return _sign(keys[0], feedback_id)


def verify(keys: tuple[str, ...], feedback_id: str, token: str) -> bool:
    supplied = token.encode()
    return any(hmac.compare_digest(supplied, _sign(k, feedback_id).encode()) for k in keys)


def _sign(key: str, feedback_id: str) -> str:
    mac = hmac.new(key.encode(), _PURPOSE + feedback_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode()  # 192 bits, 32 characters

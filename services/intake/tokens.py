"""The citizen's tokens (pure): proof that a request comes from whoever the link was sent to.

A citizen token is an HMAC of the case's id under intake's secret, so it is never stored: a
repeated submission (the same Idempotency-Key) gets the same token back, and a leaked database
leaks no token. An unsubscribe token is an HMAC of an e-mail address's hash under the same
secrets, with another purpose in the message, so neither token passes for the other. Several
secrets may be configured: the first signs, all verify (rotation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

_CITIZEN = b"suara-citizen-token\x1f"
_UNSUBSCRIBE = b"suara-unsubscribe\x1f"
_ADDRESS_HASH = re.compile(r"[0-9a-f]{64}")


def citizen_token(keys: tuple[str, ...], feedback_id: str) -> str:
    return _sign(keys[0], _CITIZEN, feedback_id)


def verify(keys: tuple[str, ...], feedback_id: str, token: str) -> bool:
    return _verify(keys, _CITIZEN, feedback_id, token)


def address_hash(email: str) -> str:
    """What names an e-mail address in links and in the opt-outs (never the address itself)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def is_address_hash(value: str) -> bool:
    return bool(_ADDRESS_HASH.fullmatch(value))


def unsubscribe_token(keys: tuple[str, ...], hashed_address: str) -> str:
    return _sign(keys[0], _UNSUBSCRIBE, hashed_address)


def verify_unsubscribe(keys: tuple[str, ...], hashed_address: str, token: str) -> bool:
    return _verify(keys, _UNSUBSCRIBE, hashed_address, token)


def _verify(keys: tuple[str, ...], purpose: bytes, message: str, token: str) -> bool:
    supplied = token.encode()
    return any(hmac.compare_digest(supplied, _sign(k, purpose, message).encode()) for k in keys)


def _sign(key: str, purpose: bytes, message: str) -> str:
    mac = hmac.new(key.encode(), purpose + message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode()  # 192 bits, 32 characters

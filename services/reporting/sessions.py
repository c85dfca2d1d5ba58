"""The dashboard's staff sessions (pure): a signed, expiring token that names the caller.

A staff member signs in with their key (an admin key of SUARA_API_KEYS or a department key of
SUARA_DEPARTMENT_KEYS); the cookie then holds ``payload.signature``, never the key: the
payload (base64url JSON) names the caller (``n``), its department (``d``, empty for an
admin), when it was issued and when it expires (``iat``, ``exp``, Unix seconds) and ``kf``, a
keyed fingerprint of the key signed in with. A token is taken only if its signature is one of
the secrets' (the first signs, all verify: rotation), it has not expired, and the caller's key
is still configured with the same fingerprint: removing or changing a key ends its sessions at
the next request, without a server-side session store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

COOKIE = "suara_dashboard"
MAX_AGE_S = 8 * 3600  # a working day
_PURPOSE = b"suara-dashboard-session\x1f"
_FINGERPRINT = b"suara-dashboard-key\x1f"
MAX_TOKEN = 600


@dataclass(frozen=True)
class Staff:
    """Who is signed in: an admin (``department_id`` None) or a department."""

    name: str
    department_id: str | None = None

    @property
    def admin(self) -> bool:
        return self.department_id is None


def who(api_keys: dict[str, str], department_keys: dict[str, str], key: str) -> Staff | None:
    """The admin or department whose key ``key`` is (constant-time comparisons), or None."""
    found = None
    supplied = key.encode()
    for keys, admin in ((api_keys, True), (department_keys, False)):
        for known, name in keys.items():
            if hmac.compare_digest(supplied, known.encode()) and found is None:
                found = Staff(name, None if admin else name)
    return found


def _key_of(staff: Staff, api_keys: dict[str, str], department_keys: dict[str, str]) -> list:
    keys = api_keys if staff.admin else department_keys
    return [k for k, name in keys.items() if name == staff.name]


def fingerprint(secret: str, key: str) -> str:
    mac = hmac.new(secret.encode(), _FINGERPRINT + key.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:12]).decode()


def issue(secrets: tuple[str, ...], staff: Staff, key: str, now: float | None = None) -> str:
    """A session token for ``staff``, who signed in with ``key``."""
    issued = int(time.time() if now is None else now)
    payload = {
        "n": staff.name,
        "d": staff.department_id or "",
        "iat": issued,
        "exp": issued + MAX_AGE_S,
        "kf": fingerprint(secrets[0], key),
    }
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    body_text = body.decode().rstrip("=")
    return f"{body_text}.{_sign(secrets[0], body_text)}"


def verify(
    secrets: tuple[str, ...],
    token: str | None,
    api_keys: dict[str, str],
    department_keys: dict[str, str],
    now: float | None = None,
) -> Staff | None:
    """The staff member a session token names, or None (forged, expired, or its key gone)."""
    if not token or len(token) > MAX_TOKEN or token.count(".") != 1:
        return None
    body, signature = token.split(".")
    signer = next(
        (s for s in secrets if hmac.compare_digest(signature.encode(), _sign(s, body).encode())),
        None,
    )
    if signer is None:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        name, department, expires, kf = payload["n"], payload["d"], payload["exp"], payload["kf"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(expires, int) or (time.time() if now is None else now) >= expires:
        return None
    staff = Staff(name, department or None)
    # the key still configured for that caller, the same one: a removed key ends its sessions
    if not any(
        hmac.compare_digest(str(kf).encode(), fingerprint(signer, k).encode())
        for k in _key_of(staff, api_keys, department_keys)
    ):
        return None
    return staff


def _sign(secret: str, body: str) -> str:
    mac = hmac.new(secret.encode(), _PURPOSE + body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode()

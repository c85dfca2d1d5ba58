"""Posting to an integrator's webhook (I/O), guarded against server-side request forgery.

The host is resolved here and every address it resolves to is judged (webhooks.refused_address)
unless ``host:port`` is allow-listed (SUARA_WEBHOOK_ALLOWED_HOSTS); the connection then goes to
the address that was judged, so a name that resolves differently a moment later (DNS
rebinding) cannot steer it inside. Redirects are not followed (a 3xx is a failed attempt), and
each attempt has one time limit for connecting, sending and reading the answer.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
import urllib.parse

from services.notification import webhooks

MAX_ANSWER = 4096  # read (and ignored) of a receiver's answer


class Refused(Exception):
    """The target may not be reached (SSRF guard): permanent."""


class AttemptFailed(Exception):
    """The attempt did not reach the receiver, or took too long: tried again later."""


def vet(url: str, allowed: frozenset[str]) -> str:
    """The address a webhook URL may be posted to (the first its host resolves to), or
    Refused with the reason."""
    try:
        _, host, port = webhooks.target(url)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise AttemptFailed(f"{host} does not resolve: {exc}") from None
    addresses = [info[4][0] for info in found]
    if not addresses:
        raise AttemptFailed(f"{host} does not resolve")
    if not webhooks.allow_listed(host, port, allowed):
        for address in addresses:
            reason = webhooks.refused_address(address)
            if reason:
                raise Refused(f"{host}: {reason} (not in SUARA_WEBHOOK_ALLOWED_HOSTS)")
    return addresses[0]


class _Pinned(http.client.HTTPConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict, allowed: frozenset[str], timeout_s: float) -> int:
    """POST ``body`` to ``url``; the receiver's HTTP status. Refused (never tried) or
    AttemptFailed (network, TLS, time limit)."""
    deadline = time.monotonic() + timeout_s
    address = vet(url, allowed)
    parts = urllib.parse.urlsplit(url)
    _, host, port = webhooks.target(url)
    kind = _PinnedTLS if parts.scheme == "https" else _Pinned
    connection = kind(host, port, address, timeout_s)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    # each socket wait has its own time limit; this cuts the connection when the whole
    # attempt's is up (a receiver trickling its answer a byte at a time)
    cutoff = threading.Timer(max(0.0, deadline - time.monotonic()), _cut, (connection,))
    cutoff.daemon = True
    cutoff.start()
    try:
        connection.request("POST", path, body=body, headers={**headers, "Host": parts.netloc})
        response = connection.getresponse()
        response.read(MAX_ANSWER)  # the answer's start only: what it says does not matter
        if time.monotonic() >= deadline:
            raise TimeoutError("the attempt took longer than its time limit")
        return response.status
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        if time.monotonic() >= deadline:
            raise AttemptFailed(f"{parts.netloc}: timed out after {timeout_s:g} s") from None
        raise AttemptFailed(f"{parts.netloc}: {type(exc).__name__}: {exc}") from None
    finally:
        cutoff.cancel()
        connection.close()


def _cut(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

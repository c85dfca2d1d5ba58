"""Outbound calls to the providers citizens write through (I/O): fetching a WhatsApp photo.

Only the configured Graph API address is called, and a photo is fetched only from the hosts
configured for WhatsApp's media (SUARA_WHATSAPP_MEDIA_HOSTS): never a redirect, never an
address a message names, so a crafted payload cannot make intake call inside the city's
network (SSRF). Reads are bounded in size and time.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request


class ProviderError(Exception):
    pass


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise ProviderError(f"the provider redirected to {newurl}: not followed")


_OPENER = urllib.request.build_opener(_NoRedirects)


def _get(url: str, token: str, max_bytes: int, timeout_s: float) -> tuple[bytes, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            data = response.read(max_bytes + 1)
            kind = response.headers.get("Content-Type", "")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ProviderError(f"{url}: {exc}") from None
    if len(data) > max_bytes:
        raise ProviderError(f"{url}: larger than {max_bytes} bytes")
    return data, kind


def whatsapp_photo(
    graph_url: str,
    token: str,
    media_id: str,
    allowed_hosts: frozenset[str],
    max_bytes: int,
    timeout_s: float = 5.0,
) -> bytes:
    """The bytes of a WhatsApp media id: its address from the Graph API, then the file."""
    meta, _ = _get(
        f"{graph_url.rstrip('/')}/{urllib.parse.quote(media_id)}", token, 65536, timeout_s
    )
    try:
        url = json.loads(meta)["url"]
    except (ValueError, KeyError, TypeError):
        raise ProviderError("the Graph API answered without a media url") from None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or parts.netloc not in allowed_hosts:
        raise ProviderError(f"media host {parts.netloc!r} is not in SUARA_WHATSAPP_MEDIA_HOSTS")
    data, _ = _get(url, token, max_bytes, timeout_s)
    return data

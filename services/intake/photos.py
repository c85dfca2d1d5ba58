"""Photos citizens attach (pure): checked by their content, not their name or declared type,
re-encoded, and stripped of metadata (EXIF, GPS included) before anything keeps them.

Accepted: JPEG, PNG and WebP of at most ``max_bytes`` (SUARA_PHOTO_MAX_MB, 5 MB) and at most
40 megapixels; larger images are scaled down to ``MAX_SIDE`` pixels on their longest side. What
is kept is a new file: the pixels only, upright (the EXIF orientation applied), so nothing the
camera or the phone wrote (where, when, which device) survives.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded
MAX_SIDE = 2048


class PhotoRefused(ValueError):
    """Not a photo we keep: the reason, in words for the citizen (Indonesian and English)."""

    def __init__(self, reason_id: str, reason_en: str):
        super().__init__(reason_en)
        self.reason_id, self.reason_en = reason_id, reason_en


@dataclass(frozen=True)
class Photo:
    data: bytes
    content_type: str
    width: int
    height: int


def clean(data: bytes, max_bytes: int) -> Photo:
    """The photo re-encoded without metadata, or PhotoRefused saying why."""
    if len(data) > max_bytes:
        mb = max_bytes / 1_000_000
        raise PhotoRefused(f"foto lebih dari {mb:g} MB", f"photo larger than {mb:g} MB")
    if not data:
        raise PhotoRefused("berkas kosong", "empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format
                if kind not in FORMATS:
                    raise PhotoRefused(
                        "hanya foto JPEG, PNG atau WebP", "only JPEG, PNG or WebP photos"
                    )
                if probe.width * probe.height > MAX_PIXELS:
                    raise PhotoRefused("foto terlalu besar (piksel)", "too many pixels")
                probe.verify()  # a truncated or corrupt file fails here
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
    except PhotoRefused:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise PhotoRefused(
            "bukan foto (JPEG, PNG atau WebP)", "not a photo (JPEG, PNG or WebP)"
        ) from None
    upright.thumbnail((MAX_SIDE, MAX_SIDE))
    return _encode(upright, kind)


def _encode(image: Image.Image, kind: str) -> Photo:
    out = io.BytesIO()
    if kind == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    elif kind == "PNG":
        keep = "RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB"
        image.convert(keep).save(out, "PNG", optimize=True)
    else:
        image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB").save(
            out, "WEBP", quality=85
        )
    return Photo(out.getvalue(), FORMATS[kind], image.width, image.height)

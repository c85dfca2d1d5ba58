"""Photos: checked by content, re-encoded, metadata stripped (services/intake/photos.py)."""

import io

import pytest
from PIL import Image

from services.intake import photos

MB = 1_000_000


def image_bytes(kind="JPEG", size=(64, 48), exif: bytes | None = None, mode="RGB") -> bytes:
    out = io.BytesIO()
    img = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else (200, 30, 30, 128))
    kwargs = {"exif": exif} if exif is not None else {}
    img.save(out, kind, **kwargs)
    return out.getvalue()


def gps_exif() -> bytes:
    exif = Image.Exif()
    exif[0x0110] = "Phone X"  # camera model
    exif[0x0112] = 6  # orientation: rotate 90 degrees
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "S", (6.0, 53.0, 0.0)  # latitude of Pekalongan
    return exif.tobytes()


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP"])
def test_each_kept_format_is_re_encoded_in_its_kind(kind):
    photo = photos.clean(image_bytes(kind), 5 * MB)
    assert photo.content_type == photos.FORMATS[kind]
    with Image.open(io.BytesIO(photo.data)) as again:
        assert again.format == kind and again.size == (64, 48)


def test_exif_and_gps_are_stripped_and_the_photo_stands_upright():
    photo = photos.clean(image_bytes(exif=gps_exif()), 5 * MB)
    with Image.open(io.BytesIO(photo.data)) as again:
        assert not again.getexif() and "exif" not in again.info
        assert again.size == (48, 64)  # the orientation was applied, then dropped
    assert b"Phone X" not in photo.data


def test_a_large_photo_is_scaled_down():
    photo = photos.clean(image_bytes(size=(4000, 3000)), 50 * MB)
    assert (photo.width, photo.height) == (2048, 1536)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"#!/bin/sh\nrm -rf /\n", "not a photo"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "not a photo"),
        (b"GIF89a" + b"\x00" * 100, "not a photo"),
        (b"", "empty"),
    ],
)
def test_what_is_not_a_photo_is_refused_with_the_reason(data, reason):
    with pytest.raises(photos.PhotoRefused, match=reason):
        photos.clean(data, 5 * MB)


def test_a_gif_a_truncated_file_and_a_too_large_file_are_refused():
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    with pytest.raises(photos.PhotoRefused, match="only JPEG, PNG or WebP"):
        photos.clean(out.getvalue(), 5 * MB)
    with pytest.raises(photos.PhotoRefused, match="not a photo"):
        photos.clean(image_bytes(size=(400, 300))[:300], 5 * MB)
    with pytest.raises(photos.PhotoRefused, match="larger than 5 MB") as refused:
        photos.clean(b"\xff" * (6 * MB), 5 * MB)
    assert "lebih dari 5 MB" in refused.value.reason_id


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG")  # 100 megapixels, a few KB
    with pytest.raises(photos.PhotoRefused):
        photos.clean(out.getvalue(), 5 * MB)

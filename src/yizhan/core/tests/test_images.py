"""Image memory bomb (issue 8, availability 1): a 0.5 MB PNG that declares 13000×13000
pixels drove the web process to 1.7 GB. It is now refused from its header, before any
pixel is decoded, with 400 and the error shape, within a second, nothing written."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import resolve
from PIL import Image, ImageFile

from yizhan.core.errors import ValidationError
from yizhan.core.images import MAX_SIDE, image_clean
from yizhan.core.testing.factories import bearer, make_jurisdiction_tree, make_staff, make_worker
from yizhan.core.testing.matrix import assert_error
from yizhan.jurisdictions.locate import locate
from yizhan.reports.models import Case, CaseEvent, CasePhoto
from yizhan.reports.tests.factories import make_category, make_department
from yizhan.stations.models import StationPhoto
from yizhan.stations.tests.factories import make_station


def _deflate_zeros(n: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(bytes(n)) + c.flush(zlib.Z_FULL_FLUSH)  # byte-aligned, no history: repeatable


def png_bomb(width: int = 13000, height: int = 13000, channels: int = 3) -> bytes:
    """A valid PNG of width×height black pixels, built without the canvas in memory: the
    IDAT is one compressed 1 MiB block of zeros repeated, an empty final block and the
    zlib checksum of all-zero data (adler32 = (n mod 65521) << 16 | 1). ~0.5 MB, ~20 ms."""
    total = height * (1 + width * channels)  # each row: filter byte 0, then the pixels
    whole, rest = divmod(total, 1 << 20)
    body = _deflate_zeros(1 << 20) * whole + (_deflate_zeros(rest) if rest else b"") + b"\x03\x00"
    idat = b"\x78\xda" + body + struct.pack(">I", ((total % 65521) << 16) | 1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, {1: 0, 3: 2, 4: 6}[channels], 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = png_bomb()
    assert 400_000 < len(data) < 600_000  # the attack's size: ~0.5 MB for 169 MP
    return data


def png_upload(data: bytes, name: str = "bomb.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def decodes():
    """Counts pixel decoding (ImageFile.load) while the test runs."""
    real = ImageFile.ImageFile.load
    calls = []

    def counting(self, *a, **kw):
        calls.append(self.size)
        return real(self, *a, **kw)

    with mock.patch.object(ImageFile.ImageFile, "load", counting):
        yield calls


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


def test_the_generated_bomb_is_a_real_png():
    small = png_bomb(300, 200)
    with Image.open(io.BytesIO(small)) as img:
        img.load()
        assert img.size == (300, 200) and img.getextrema() == ((0, 0), (0, 0), (0, 0))


def test_bomb_is_refused_from_the_header_without_decoding(bomb, decodes):
    started = time.monotonic()
    with pytest.raises(ValidationError) as exc:
        image_clean(png_upload(bomb))
    assert time.monotonic() - started < 1
    assert exc.value.code == "photo_too_large" and exc.value.field == "photo"
    assert "40" in exc.value.message.en
    assert decodes == []  # not one pixel decoded


@pytest.mark.parametrize("size, refused", [((200, 100), True), ((100, 100), False)])
def test_pixel_budget_is_a_setting(settings, size, refused, decodes):
    settings.YIZHAN_PHOTO_MAX_PIXELS = 10_000
    upload = png_upload(png_bomb(*size))
    if refused:
        with pytest.raises(ValidationError) as exc:
            image_clean(upload)
        assert exc.value.code == "photo_too_large"
        assert decodes == []
    else:
        assert image_clean(upload).size > 0


def test_twice_the_budget_is_refused_by_pillow_itself_too(settings):
    """The backstop: Pillow's MAX_IMAGE_PIXELS follows the budget (it refuses twice that at open)."""
    settings.YIZHAN_PHOTO_MAX_PIXELS = 10_000
    image_clean(png_upload(png_bomb(50, 50)))
    assert Image.MAX_IMAGE_PIXELS == 10_000
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(png_bomb(150, 150)))


def test_big_jpeg_is_decoded_at_a_reduced_scale(settings, decodes):
    """A JPEG over the budget that fits once decoded at 1/2..1/8 scale (a 48 MP phone photo
    under a 40 MP budget) is accepted, and only the reduced size is decoded."""
    settings.YIZHAN_PHOTO_MAX_PIXELS = 2_500_000
    buf = io.BytesIO()
    Image.new("RGB", (MAX_SIDE * 2 + 96, 1000), (10, 120, 200)).save(buf, "JPEG")  # 4.2 MP
    clean = image_clean(SimpleUploadedFile("big.jpg", buf.getvalue(), content_type="image/jpeg"))
    assert decodes and all(w * h <= 2_500_000 for w, h in decodes), decodes
    with Image.open(io.BytesIO(clean.read())) as out:
        assert max(out.size) <= MAX_SIDE


def test_orientation_still_applied_after_scaling():
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    Image.new("RGB", (3000, 1000), (0, 200, 0)).save(buf, "JPEG", exif=exif)
    clean = image_clean(SimpleUploadedFile("o.jpg", buf.getvalue(), content_type="image/jpeg"))
    with Image.open(io.BytesIO(clean.read())) as out:
        assert out.height > out.width and max(out.size) <= MAX_SIDE
        assert 0x0112 not in out.getexif()


# ---- through the real upload endpoints ----------------------------------------------------------


@pytest.mark.django_db
def test_report_submit_refuses_the_bomb_fast_and_writes_nothing(client, bomb, media, decodes):
    tree = make_jurisdiction_tree()
    make_department(jurisdiction=tree.district, code="urban")
    cat = make_category("manhole", name="井盖缺失")
    client.force_login(make_worker())
    lat, lng = tree.point(tree.grid)
    assert locate(lat, lng)  # the location index is built once per process, not timed here
    resolve("/api/v1/reports/cases")  # nor the URL conf import
    data = {"category": cat.code, "lat": lat, "lng": lng, "description": "井盖不见了",
            "photos": [png_upload(bomb)]}
    started = time.monotonic()
    resp = client.post("/api/v1/reports/cases", data)
    elapsed = time.monotonic() - started
    body = assert_error(resp, 400, "photo_too_large")
    assert body["field"].startswith("photos")
    assert elapsed < 1, f"took {elapsed:.2f} s"
    assert decodes == []
    assert not Case.objects.exists() and not CaseEvent.objects.exists() and not CasePhoto.objects.exists()
    assert files_under(media) == []


@pytest.mark.django_db
def test_station_photo_refuses_the_bomb_fast_and_writes_nothing(client, bomb, media, decodes):
    tree = make_jurisdiction_tree()
    station = make_station(tree.community)
    admin = make_staff("community_admin", tree.community)
    resolve(f"/api/v1/stations/{station.code}/photos")  # the URL conf import is not timed
    started = time.monotonic()
    resp = client.post(f"/api/v1/stations/{station.code}/photos", {"photo": png_upload(bomb)},
                       headers=bearer(admin))
    elapsed = time.monotonic() - started
    assert_error(resp, 400, "photo_too_large", "photo")
    assert elapsed < 1, f"took {elapsed:.2f} s"
    assert decodes == []
    assert not StationPhoto.objects.exists()
    assert files_under(media) == []

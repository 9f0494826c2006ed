"""Station photos: type checked by content, size-limited, EXIF (GPS) removed, scoped."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from yizhan.core.errors import ValidationError
from yizhan.core.images import MAX_BYTES, image_clean
from yizhan.core.testing.factories import bearer, make_jurisdiction_tree, make_staff, make_worker
from yizhan.core.testing.matrix import assert_error
from yizhan.stations import services
from yizhan.stations.models import StationPhoto
from yizhan.stations.tests.factories import make_keeper, make_station

GPS_IFD = 0x8825


def jpeg_with_gps(size=(64, 48)) -> bytes:
    img = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[GPS_IFD] = {1: "N", 2: (31.0, 20.0, 0.0), 3: "E", 4: (120.0, 25.0, 0.0)}
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def upload(data: bytes, name="photo.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_gps_is_removed_from_the_stored_copy():
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get(GPS_IFD)
    clean = image_clean(upload(original))
    stored = Image.open(io.BytesIO(clean.read()))
    assert stored.format == "JPEG"
    assert not stored.getexif()  # no GPS, no camera make, nothing
    assert stored.size == (64, 48)


def test_type_is_judged_by_content_not_name():
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, "GIF")
    with pytest.raises(ValidationError) as exc:
        image_clean(upload(gif.getvalue(), name="looks-fine.jpg"))
    assert exc.value.code == "photo_type"
    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, "PNG")
    assert image_clean(upload(png.getvalue(), name="named-wrong.txt")).name.endswith(".png")


@pytest.mark.parametrize("data", [b"", b"not an image at all", jpeg_with_gps()[:200]])
def test_corrupt_or_empty_files_are_rejected(data):
    with pytest.raises(ValidationError) as exc:
        image_clean(upload(data))
    assert exc.value.code == "photo_corrupt"
    assert exc.value.field == "photo"


def test_over_10_mb_is_rejected():
    with pytest.raises(ValidationError) as exc:
        image_clean(upload(b"\xff" * (MAX_BYTES + 1)))
    assert exc.value.code == "photo_too_large"


def test_huge_photos_are_scaled_down():
    big = io.BytesIO()
    Image.new("RGB", (4000, 3000), (10, 120, 200)).save(big, "JPEG")
    stored = Image.open(image_clean(upload(big.getvalue())))
    assert max(stored.size) == 2048


@pytest.mark.django_db
def test_keeper_adds_and_removes_a_photo_through_the_api(client):
    tree = make_jurisdiction_tree()
    station = make_station(tree.community)
    keeper = make_keeper(station)
    resp = client.post(f"/api/v1/stations/{station.code}/photos", {"photo": upload(jpeg_with_gps()), "caption": "门口"},
                       headers=bearer(keeper))
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["caption"] == "门口" and body["url"].startswith("/media/stations/")
    photo = StationPhoto.objects.get(pk=body["id"])
    assert not Image.open(photo.image.path).getexif()
    listed = client.get(f"/api/v1/stations/{station.code}/photos").json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == body["id"]
    resp = client.delete(f"/api/v1/stations/{station.code}/photos/{photo.pk}", headers=bearer(keeper))
    assert resp.status_code == 204
    assert not StationPhoto.objects.exists()


@pytest.mark.django_db
def test_photo_upload_denials_change_nothing(client):
    tree = make_jurisdiction_tree()
    station = make_station(tree.community)
    other_keeper = make_keeper(make_station(tree.other_community))
    worker = make_worker()
    url = f"/api/v1/stations/{station.code}/photos"
    assert_error(client.post(url, {"photo": upload(jpeg_with_gps())}), 401, "not_authenticated")
    assert_error(client.post(url, {"photo": upload(jpeg_with_gps())}, headers=bearer(worker)), 403)
    assert_error(client.post(url, {"photo": upload(jpeg_with_gps())}, headers=bearer(other_keeper)), (403, 404))
    admin = make_staff("community_admin", tree.community)
    assert_error(client.post(url, {"photo": upload(b"garbage")}, headers=bearer(admin)), 400, "photo_corrupt", "photo")
    assert not StationPhoto.objects.exists()


@pytest.mark.django_db
def test_at_most_12_photos_per_station():
    tree = make_jurisdiction_tree()
    station = make_station(tree.community)
    keeper = make_keeper(station)
    for _ in range(12):
        services.station_photo_add(actor=keeper, station=station, upload=upload(jpeg_with_gps((8, 8))))
    with pytest.raises(Exception) as exc:
        services.station_photo_add(actor=keeper, station=station, upload=upload(jpeg_with_gps((8, 8))))
    assert exc.value.code == "too_many_photos"
    assert StationPhoto.objects.filter(station=station).count() == 12

"""The media views: display, download, original and thumbnails, for every role, with no metadata."""

import hashlib
import io
import json

import pytest
from PIL import Image as PILImage

from fundushub.audit.models import AuditEvent
from fundushub.library import variants
from fundushub.store.models import Image
from tests.conftest import fundus_png, store_image
from tests.store.test_stripped import PATIENT, assert_no_metadata, dirty_png, make_dirty_jpeg

pytestmark = pytest.mark.filterwarnings("ignore:Image appears to be a malformed MPO file")


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def pixels(data: bytes) -> bytes:
    with PILImage.open(io.BytesIO(data)) as im:
        return im.tobytes()


@pytest.fixture
def dirty(world):
    """An image in retina, uploaded by alice, whose original carries a patient's details."""
    return store_image(world, data=make_dirty_jpeg((320, 240)), original_filename="scan 7.v2.jpeg")


def edit(image, user, ops=None):
    """An edited variant, made the way the editor makes one."""
    raw = json.dumps(ops or {"rotate": 90}).encode()
    return variants.save_edit(image, raw, user)


def test_the_viewer_image_is_the_original_without_metadata_and_with_the_same_pixels(
    client, world, dirty
):
    client.force_login(world.alice)
    response = client.get(f"/images/{dirty.id}/view")
    assert response.status_code == 200
    served = body(response)
    assert_no_metadata(served)
    assert pixels(served) == pixels(make_dirty_jpeg((320, 240)))
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == 'inline; filename="scan 7.v2.jpg"'


@pytest.mark.parametrize("path", ["view", "download", "thumbnail", "original"])
def test_every_media_response_is_private_and_not_sniffed(client, world, dirty, path):
    client.force_login(world.mary)
    response = client.get(f"/images/{dirty.id}/{path}")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"].startswith("private")


@pytest.mark.parametrize("path", ["view", "download", "thumbnail", "original"])
def test_every_media_response_runs_nothing_even_opened_on_its_own(client, world, dirty, path):
    client.force_login(world.mary)
    response = client.get(f"/images/{dirty.id}/{path}")
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy and "script-src" not in policy
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.parametrize(
    "path, disposition",
    [
        ("original", 'attachment; filename="poly.jpg"'),
        ("download", 'attachment; filename="poly.jpg"'),
        ("download?variant=edited", 'attachment; filename="poly-edited.png"'),
        ("view", 'inline; filename="poly.jpg"'),
    ],
)
def test_a_file_uploaded_as_a_web_page_is_named_by_its_stored_type(
    client, world, path, disposition
):
    image = store_image(world, 8, original_filename="poly.html")
    edit(image, world.mary)
    client.force_login(world.mary)
    response = client.get(f"/images/{image.id}/{path}")
    assert response.status_code == 200
    assert response["Content-Disposition"] == disposition


def test_a_camera_image_downloads_under_its_title_not_the_cameras_file_id(client, world):
    from urllib.parse import unquote

    from django.utils import timezone

    image = store_image(
        world,
        10,
        source="camera",
        subject_identifier="105-10-0989-3",
        original_filename="3f2a9c1e-1111-4c2b-9d7e-0a1b2c3d4e5f.html",
        area=world.left,
    )
    client.force_login(world.mary)
    disposition = client.get(f"/images/{image.id}/original")["Content-Disposition"]
    day = timezone.localdate(image.created_at).isoformat()  # the clinic's day
    assert unquote(disposition) == (
        f"attachment; filename*=utf-8''105-10-0989-3 · left eye · {day}.jpg"
    )


@pytest.mark.parametrize(
    "name, served",
    [("\x1bred\x07 eye.html", "red eye.jpg"), ("...", "image.jpg"), ("a/b\\c", "a_b_c.jpg")],
)
def test_a_name_with_control_characters_or_only_dots_still_gets_a_readable_name(
    client, world, name, served
):
    image = store_image(world, 9, original_filename=name)
    client.force_login(world.mary)
    response = client.get(f"/images/{image.id}/original")
    assert response["Content-Disposition"] == f'attachment; filename="{served}"'


def test_a_download_is_the_same_clean_bytes_as_an_attachment(client, world, dirty):
    client.force_login(world.alice)
    shown = body(client.get(f"/images/{dirty.id}/view"))
    response = client.get(f"/images/{dirty.id}/download")
    assert response["Content-Disposition"] == 'attachment; filename="scan 7.v2.jpg"'
    assert body(response) == shown
    assert PATIENT.encode() not in shown


def test_a_png_original_is_served_as_a_png_without_its_text_chunks(client, world):
    image = store_image(world, data=dirty_png(), original_filename="disc.png")
    client.force_login(world.alice)
    response = client.get(f"/images/{image.id}/view")
    assert response["Content-Type"] == "image/png"
    assert_no_metadata(body(response))
    assert pixels(body(response)) == pixels(dirty_png())


def test_the_type_comes_from_our_record_not_the_filename(client, world):
    image = store_image(world, data=fundus_png(4), original_filename="mislabelled.jpg")
    client.force_login(world.alice)
    response = client.get(f"/images/{image.id}/download")
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="mislabelled.png"'


def test_the_edited_variant_is_served_with_variant_edited_and_carries_no_metadata(
    client, world, dirty
):
    edit(dirty, world.alice)
    client.force_login(world.alice)
    response = client.get(f"/images/{dirty.id}/view?variant=edited")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    served = body(response)
    assert_no_metadata(served)
    assert PILImage.open(io.BytesIO(served)).size == (240, 320)  # rotated
    download = client.get(f"/images/{dirty.id}/download?variant=edited")
    assert download["Content-Disposition"] == 'attachment; filename="scan 7.v2-edited.png"'
    assert body(download) == served


def test_an_edited_variant_is_revalidated_because_it_can_change(client, world, dirty):
    edit(dirty, world.alice)
    client.force_login(world.alice)
    first = client.get(f"/images/{dirty.id}/view?variant=edited")
    assert first["Cache-Control"] == "private, no-cache"
    again = client.get(f"/images/{dirty.id}/view?variant=edited", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    edit(Image.objects.get(pk=dirty.pk), world.alice, {"rotate": 180})
    changed = client.get(
        f"/images/{dirty.id}/view?variant=edited", HTTP_IF_NONE_MATCH=first["ETag"]
    )
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]


@pytest.mark.parametrize("path", ["view", "download", "thumbnail"])
def test_asking_for_an_edited_variant_that_does_not_exist_is_a_404(client, world, dirty, path):
    client.force_login(world.alice)
    assert client.get(f"/images/{dirty.id}/{path}?variant=edited").status_code == 404


def test_an_unknown_variant_is_a_404(client, world, dirty):
    client.force_login(world.alice)
    assert client.get(f"/images/{dirty.id}/view?variant=raw").status_code == 404


def test_the_edited_thumbnail_is_the_variants_own_and_pixel_only(client, world, dirty):
    edit(dirty, world.alice)
    client.force_login(world.alice)
    original = body(client.get(f"/images/{dirty.id}/thumbnail"))
    edited = body(client.get(f"/images/{dirty.id}/thumbnail?variant=edited"))
    assert original != edited
    response = client.get(f"/images/{dirty.id}/thumbnail?variant=edited")
    assert response["Content-Disposition"] == 'inline; filename="scan 7.v2-edited-thumbnail.jpg"'
    for thumb in (original, edited):
        assert_no_metadata(thumb)
    assert PILImage.open(io.BytesIO(edited)).size[0] < PILImage.open(io.BytesIO(edited)).size[1]


def test_the_untouched_original_is_byte_identical_for_a_data_manager_and_audited(
    client, world, dirty
):
    client.force_login(world.mary)
    response = client.get(f"/images/{dirty.id}/original")
    assert response.status_code == 200
    data = body(response)
    assert hashlib.sha256(data).hexdigest() == dirty.sha256
    assert data == make_dirty_jpeg((320, 240))
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == 'attachment; filename="scan 7.v2.jpg"'
    event = AuditEvent.objects.get(action="image.original_downloaded")
    assert (event.user, event.object_id) == (world.mary, str(dirty.id))
    assert event.data["sha256"] == dirty.sha256


def test_an_admin_downloads_originals_of_their_lab_units(client, world):
    image = store_image(world, 3, user=world.bob, lab_unit=world.outpatients)
    client.force_login(world.root)
    response = client.get(f"/images/{image.id}/original")
    assert hashlib.sha256(body(response)).hexdigest() == image.sha256


@pytest.mark.parametrize("who", ["alice", "gina"])
def test_uploaders_and_graders_may_not_download_the_original(client, world, dirty, who):
    client.force_login(getattr(world, who))
    assert client.get(f"/images/{dirty.id}/original").status_code == 403
    assert not AuditEvent.objects.filter(action="image.original_downloaded").exists()


@pytest.mark.parametrize(
    "who, expected",
    [
        ("alice", {"view": 200, "download": 200, "thumbnail": 200, "original": 403}),
        ("mary", {"view": 200, "download": 200, "thumbnail": 200, "original": 200}),
        ("gina", {"view": 200, "download": 200, "thumbnail": 200, "original": 403}),
        ("bob", {"view": 404, "download": 404, "thumbnail": 404, "original": 404}),
        ("root", {"view": 404, "download": 404, "thumbnail": 404, "original": 404}),
        ("sam", {"view": 404, "download": 404, "thumbnail": 404, "original": 404}),
    ],
)
@pytest.mark.usefixtures("same_hospital_other_unit_user")
def test_each_role_sees_what_its_scope_allows(client, world, dirty, who, expected):
    client.force_login(getattr(world, who))
    got = {path: client.get(f"/images/{dirty.id}/{path}").status_code for path in expected}
    assert got == expected


def test_an_uploader_sees_their_own_upload_even_outside_their_lab_units(client, world):
    image = store_image(world, 5, user=world.alice, lab_unit=world.outpatients)
    client.force_login(world.alice)
    assert client.get(f"/images/{image.id}/view").status_code == 200


@pytest.mark.parametrize("path", ["view", "download", "thumbnail", "original"])
def test_anonymous_users_are_sent_to_sign_in(client, world, dirty, path):
    response = client.get(f"/images/{dirty.id}/{path}")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_unknown_id_is_a_404(client, world):
    client.force_login(world.mary)
    assert client.get("/images/00000000-0000-0000-0000-000000000000/view").status_code == 404


@pytest.mark.parametrize("path", ["view", "download", "original", "thumbnail"])
def test_media_views_answer_only_get(client, world, dirty, path):
    client.force_login(world.mary)
    assert client.post(f"/images/{dirty.id}/{path}").status_code == 405


def test_a_file_beyond_the_memory_cap_is_refused_clearly(client, world, dirty, settings):
    settings.CAMERA_MAX_UPLOAD_MB = settings.DIRECT_UPLOAD_MAX_FILE_SIZE_MB = 0
    client.force_login(world.alice)
    response = client.get(f"/images/{dirty.id}/view")
    assert response.status_code == 413
    assert b"too large" in response.content


def test_a_filename_with_non_ascii_characters_is_encoded_safely(client, world):
    image = store_image(world, 6, original_filename='Zoë "left".jpg')
    client.force_login(world.alice)
    disposition = client.get(f"/images/{image.id}/download")["Content-Disposition"]
    assert disposition == "attachment; filename*=utf-8''Zo%C3%AB%20%22left%22.jpg"


def test_an_exif_orientation_reaches_the_browser_so_the_viewer_shows_it_upright(client, world):
    from tests.store.test_stripped import encode_jpeg, exif_with_patient_data, picture

    data = encode_jpeg(picture((120, 80)), exif=exif_with_patient_data(orientation=6))
    image = store_image(world, data=data)
    client.force_login(world.alice)
    served = PILImage.open(io.BytesIO(body(client.get(f"/images/{image.id}/view"))))
    assert dict(served.getexif()) == {0x0112: 6}
    assert PATIENT.encode() not in body(client.get(f"/images/{image.id}/view"))

"""The editor page and saving an edit: scope, the locked states, the variant, the untouched original."""

import hashlib
import io
import json
from urllib.parse import quote

import pytest
from PIL import Image as PILImage

from fundushub.audit.models import AuditEvent
from fundushub.library import editing, variants
from fundushub.store import blobs
from fundushub.store.models import GradingStatus, Image
from tests.conftest import fundus_png, store_image
from tests.library.test_editing import png_chunks

LOCKED = "Editing is not allowed for pre-graded or graded images"


def url(image, query=""):
    return f"/direct/images/{image.id}/editor{query}"


@pytest.fixture
def save(django_capture_on_commit_callbacks):
    """POST an edit as editor.js does, running what waits for the commit (the old variant's removal)."""

    def post(client, image, ops, query="", **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                url(image, query), json.dumps(ops), content_type="application/json", **extra
            )

    return post


def stored_sha256(key) -> str:
    with blobs.open_blob(key) as f:
        return hashlib.sha256(f.read()).hexdigest()


def variant(image) -> PILImage.Image:
    with blobs.open_blob(image.edited_key) as f:
        return PILImage.open(io.BytesIO(f.read()))


@pytest.fixture
def image(world):
    return store_image(world, 1)


def test_the_page_loads_the_original_display_copy_and_the_stored_operations(client, world, image):
    Image.objects.filter(pk=image.pk).update(edit_operations={**editing.IDENTITY, "rotate": 180})
    client.force_login(world.alice)
    response = client.get(url(image))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-source="/images/{image.id}/view?variant=original"' in html
    assert "The image editor needs JavaScript" in html
    assert "csrfmiddlewaretoken" in html
    config = json.loads(html.split('id="editor-config" type="application/json">')[1].split("<")[0])
    assert (config["width"], config["height"]) == (640, 480)
    assert config["operations"]["rotate"] == 180
    assert config["limits"]["max_size"] == 500


def test_the_page_gives_the_upright_size_of_an_original_with_an_exif_orientation(client, world):
    im = PILImage.new("RGB", (64, 32), (120, 40, 20))
    exif = PILImage.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif)
    image = store_image(world, data=out.getvalue())
    client.force_login(world.alice)
    config = client.get(url(image)).context["config"]
    assert (config["width"], config["height"]) == (32, 64)


@pytest.mark.parametrize("status", [GradingStatus.PRE_GRADED, GradingStatus.GRADED])
def test_the_page_explains_why_a_pre_graded_or_graded_image_cannot_be_edited(client, world, status):
    image = store_image(world, 1, grading_status=status)
    client.force_login(world.alice)
    response = client.get(url(image))
    assert response.status_code == 200
    html = response.content.decode()
    assert LOCKED in html
    assert 'id="editor"' not in html and "editor.js" not in html


@pytest.mark.parametrize("status", [GradingStatus.PRE_GRADED, GradingStatus.GRADED])
def test_saving_an_edit_of_a_pre_graded_or_graded_image_is_refused(
    client, world, status, isolated_storage, save
):
    image = store_image(world, 1, grading_status=status)
    client.force_login(world.alice)
    response = save(client, image, {"rotate": 90})
    assert response.status_code == 409
    assert response.json() == {"error": LOCKED}
    image.refresh_from_db()
    assert not image.has_edit
    assert not (isolated_storage / "edited").exists()  # refused before any pixel was made


@pytest.mark.parametrize(
    "who, uploader, expected",
    [
        ("alice", "alice", 200),  # her own upload
        ("alice", "mary", 403),  # her lab unit, someone else's upload
        ("mary", "alice", 200),  # a data manager, any image in her lab units
        ("gina", "alice", 403),  # a grader sees it but does not edit
        ("bob", "alice", 404),  # another hospital: it does not exist for him
        ("root", "alice", 404),  # an admin outside his lab units too
        ("sam", "alice", 404),  # another lab unit of her hospital
    ],
)
@pytest.mark.usefixtures("same_hospital_other_unit_user")
def test_the_page_and_saving_are_scoped_by_role(client, world, who, uploader, expected, save):
    image = store_image(world, 1, user=getattr(world, uploader))
    client.force_login(getattr(world, who))
    assert client.get(url(image)).status_code == expected
    response = save(client, image, {"flip_h": True})
    assert response.status_code == expected
    if expected != 200:
        assert "error" in response.json()
        image.refresh_from_db()
        assert not image.has_edit


def test_an_admin_edits_images_of_his_lab_units(client, world, save):
    image = store_image(world, 1, user=world.bob, lab_unit=world.outpatients)
    client.force_login(world.root)
    assert save(client, image, {"flip_v": True}).status_code == 200


def test_signed_out_users_are_sent_to_sign_in(client, image, save):
    assert client.get(url(image)).status_code == 302
    assert save(client, image, {"rotate": 90}).status_code == 302


def test_other_methods_are_not_allowed(client, world, image):
    client.force_login(world.alice)
    assert client.put(url(image)).status_code == 405


def test_saving_makes_a_rotated_variant_and_leaves_the_original_untouched(
    client, world, image, save
):
    client.force_login(world.alice)
    ops = {
        "rotate": 90,
        "strokes": [{"tool": "brush", "size": 20, "points": [[40, 40], [100, 40]]}],
    }
    response = save(client, image, ops, HTTP_USER_AGENT="EditorTest/1")
    assert response.status_code == 200, response.content
    image.refresh_from_db()
    assert response.json() == {
        "edited_sha256": image.edited_sha256,
        # Back in the viewer, showing the version just saved.
        "redirect": f"/direct/images/{image.id}?variant=edited",
    }
    assert image.edit_operations == editing.validate(ops, 640, 480)
    assert image.edited_by == world.alice and image.edited_at is not None
    assert stored_sha256(image.edited_key) == image.edited_sha256
    out = variant(image)
    assert out.size == (480, 640) and out.format == "PNG"
    assert out.getpixel((480 - 40, 70)) == (0, 0, 0)  # the stroke, turned with the image
    with blobs.open_blob(image.edited_key) as f:
        assert png_chunks(f.read()) == ["IHDR", "IDAT", "IEND"]
    with blobs.open_blob(image.edited_thumbnail_key) as f:
        thumb = PILImage.open(f)
        assert thumb.format == "JPEG" and thumb.width < thumb.height
    assert stored_sha256(image.original_key) == image.sha256
    assert stored_sha256(image.thumbnail_key) != image.edited_sha256


def test_saving_is_audited_with_the_operations_and_the_variants_before_and_after(
    client, world, image, save
):
    client.force_login(world.alice)
    save(client, image, {"rotate": 90}, HTTP_USER_AGENT="EditorTest/1")
    first = Image.objects.get(pk=image.pk).edited_sha256
    save(client, image, {"rotate": 270})
    second = Image.objects.get(pk=image.pk).edited_sha256
    events = list(AuditEvent.objects.filter(action="image.edited").order_by("at", "id"))
    assert len(events) == 2
    assert events[0].object_id == str(image.id) and events[0].user == world.alice
    assert events[0].user_agent == "EditorTest/1" and events[0].ip == "127.0.0.1"
    assert events[0].data["operations"]["rotate"] == 90
    assert events[0].data["before"] == {"edited_sha256": None, "operations": None}
    assert events[0].data["after"] == {"edited_sha256": first}
    assert events[1].data["before"]["edited_sha256"] == first
    assert events[1].data["before"]["operations"]["rotate"] == 90
    assert events[1].data["after"] == {"edited_sha256": second}


def test_re_editing_starts_again_from_the_original_and_removes_the_old_variant(
    client, world, image, save
):
    client.force_login(world.alice)
    save(client, image, {"rotate": 90})
    image.refresh_from_db()
    old = image.edited_sha256
    save(client, image, {"flip_h": True})
    image.refresh_from_db()
    assert variant(image).size == (640, 480)  # not rotated: the first edit is not built upon
    expected = variants.render(image, editing.validate({"flip_h": True}, 640, 480))
    assert image.edited_sha256 == hashlib.sha256(expected).hexdigest()
    assert not blobs.exists(blobs.edited_key(old))
    assert not blobs.exists(blobs.thumbnail_key(old))
    assert stored_sha256(image.original_key) == image.sha256


def test_an_old_variant_another_image_shares_is_kept(client, world, save):
    a = store_image(world, 1)  # St Lucia
    b = store_image(world, 1, lab_unit=world.outpatients, user=world.bob)  # same bytes, northgate
    client.force_login(world.mary)
    save(client, a, {"rotate": 90})
    client.force_login(world.bob)
    save(client, b, {"rotate": 90})
    a.refresh_from_db(), b.refresh_from_db()
    assert a.edited_sha256 == b.edited_sha256  # identical edits of identical bytes: one blob
    save(client, b, {"rotate": 180})
    assert blobs.exists(a.edited_key) and blobs.exists(a.edited_thumbnail_key)


def test_a_png_original_is_edited_too(client, world, save):
    image = store_image(world, data=fundus_png(3))
    client.force_login(world.alice)
    assert save(client, image, {"crop": {"x": 10, "y": 20, "w": 100, "h": 50}}).status_code == 200
    image.refresh_from_db()
    assert variant(image).size == (100, 50)


@pytest.mark.parametrize(
    "body, message",
    [
        ({"rotate": 45}, "rotate must be one of 0, 90, 180, 270."),
        ({"crop": {"x": 600, "y": 0, "w": 41, "h": 10}}, "crop must lie inside the image"),
        ({"strokes": [{"tool": "brush", "size": 5, "points": [[641, 1]]}]}, "strokes[0].points"),
        ({}, "There are no changes to save"),
        ({"rotate": 0, "brightness": 1}, "There are no changes to save"),
    ],
)
def test_bad_operations_are_refused_as_json_with_the_reason(
    client, world, image, body, message, save
):
    client.force_login(world.alice)
    response = save(client, image, body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    image.refresh_from_db()
    assert not image.has_edit and not AuditEvent.objects.filter(action="image.edited").exists()


def test_a_body_that_is_not_json_is_refused_as_json(client, world, image):
    client.force_login(world.alice)
    response = client.post(
        url(image), "rotate=90", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("The edit is not valid JSON (")


def test_a_body_over_the_size_cap_is_refused_before_it_is_read(client, world, image):
    client.force_login(world.alice)
    response = client.post(
        url(image), b"{}", content_type="application/json", CONTENT_LENGTH=str(2_000_000)
    )
    assert response.status_code == 400
    assert "too large" in response.json()["error"]


def test_a_grade_recorded_while_the_variant_is_made_wins(client, world, image, monkeypatch, save):
    real = variants.editing.encode_png

    def grade_meanwhile(im):
        Image.objects.filter(pk=image.pk).update(grading_status=GradingStatus.GRADED)
        return real(im)

    monkeypatch.setattr(variants.editing, "encode_png", grade_meanwhile)
    client.force_login(world.alice)
    response = save(client, image, {"rotate": 90})
    assert response.status_code == 409
    assert response.json() == {"error": LOCKED}
    image.refresh_from_db()
    assert not image.has_edit and image.edit_operations == {}
    assert not AuditEvent.objects.filter(action="image.edited").exists()


def test_an_edit_saved_by_someone_else_meanwhile_is_not_overwritten(
    client, world, image, monkeypatch, save
):
    real = variants.editing.encode_png

    def edit_meanwhile(im):
        Image.objects.filter(pk=image.pk).update(edited_sha256="f" * 64)
        return real(im)

    monkeypatch.setattr(variants.editing, "encode_png", edit_meanwhile)
    client.force_login(world.alice)
    response = save(client, image, {"rotate": 90})
    assert response.status_code == 409
    assert "Someone else changed this image's edit meanwhile" in response.json()["error"]
    assert Image.objects.get(pk=image.pk).edited_sha256 == "f" * 64


def test_a_safe_next_is_where_the_editor_goes_after_saving(client, world, image, save):
    client.force_login(world.alice)
    response = save(client, image, {"rotate": 90}, query="?next=/direct/dashboard%3Fdisease%3D1")
    assert response.json()["redirect"] == "/direct/dashboard?disease=1"
    response = save(client, image, {"rotate": 180}, query="?next=https://evil.example/")
    assert response.json()["redirect"] == f"/direct/images/{image.id}?variant=edited"


def test_after_saving_the_viewer_it_returns_to_shows_the_edited_version(client, world, image, save):
    client.force_login(world.alice)
    came_from = f"/direct/images/{image.id}?disease={world.dr.pk}&variant=original"
    response = save(client, image, {"rotate": 90}, query=f"?next={quote(came_from)}")
    assert response.json()["redirect"] == (
        f"/direct/images/{image.id}?disease={world.dr.pk}&variant=edited"
    )
    viewer = client.get(response.json()["redirect"]).content.decode()
    assert f'id="viewer-image" src="/images/{image.id}/view?variant=edited"' in viewer


def test_the_page_cancel_link_honours_only_a_safe_next(client, world, image):
    client.force_login(world.alice)
    assert client.get(url(image, "?next=/direct/dashboard")).context["next"] == "/direct/dashboard"
    assert client.get(url(image, "?next=//evil.example")).context["next"] == (
        f"/direct/images/{image.id}"
    )


def test_saving_needs_the_csrf_token(world, image, save):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    page = client.get(url(image))
    assert save(client, image, {"rotate": 90}).status_code == 403
    token = page.cookies["csrftoken"].value
    assert save(client, image, {"rotate": 90}, HTTP_X_CSRFTOKEN=token).status_code == 200


def test_an_original_missing_from_storage_is_a_clear_error_not_a_500(client, world, image, save):
    blobs.delete(image.original_key)
    client.force_login(world.alice)
    assert client.get(url(image)).status_code == 200
    response = save(client, image, {"rotate": 90})
    assert response.status_code == 503
    assert response.json()["error"].startswith("The original could not be read from storage")
    image.refresh_from_db()
    assert not image.has_edit


HOSTILE_EDITS = [
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"strokes": ' + b"[" * 40 + b"]" * 40 + b"}", "nested too deeply"),
    (b'{"brightness": 1e999}', "out of range"),
    (b'{"crop": {"x": 0, "y": 0, "w": 1180591620717411303424, "h": 1}}', "out of range"),
    (b'{"rotate": 90.0}', "rotate must be one of"),
    (b'{"flip_h": "yes"}', "flip_h must be true or false"),
    (b'"rotate"', "must be a JSON object"),
    (b"null", "must be a JSON object"),
    (b'{"strokes": [{"tool": "brush", "size": 5, "points": [[1, "\\ud800"]]}]}', "surrogate"),
]


@pytest.mark.parametrize("body, message", HOSTILE_EDITS, ids=[m for _, m in HOSTILE_EDITS])
def test_a_hostile_edit_is_a_400_that_says_why_and_changes_nothing(
    client, world, image, body, message
):
    client.force_login(world.alice)
    response = client.post(url(image), body, content_type="application/json")
    assert response.status_code == 400
    assert message in response.json()["error"]
    image.refresh_from_db()
    assert not image.has_edit

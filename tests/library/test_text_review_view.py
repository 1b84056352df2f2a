"""Burned-in text in the editor: masks pre-placed over the boxes found at ingest, the review a saved
edit or a "Not patient data" answer records, and who may answer."""

import json

import pytest
from django.contrib.messages import get_messages

from fundushub.audit.models import AuditEvent
from fundushub.checks.models import ImageCheck
from fundushub.library import editing, text_masks
from fundushub.store.models import GradingStatus, Image
from tests.conftest import store_image

BOXES = [[10, 8, 200, 30], [400, 440, 180, 24]]


def flag(image, boxes=BOXES, **fields):
    values = {"boxes": boxes, "count": len(boxes), "characters": [12] * len(boxes)}
    return ImageCheck.objects.create(
        image=image,
        name="burned_text",
        version=1,
        verdict="flag",
        flagged=True,
        reason="Possible patient data",
        values=values,
        **fields,
    )


def editor(image):
    return f"/direct/images/{image.id}/editor"


def review(image):
    return f"/direct/images/{image.id}/text-review"


def masks_of(response):
    html = response.content.decode()
    marker = 'id="editor-text-masks" type="application/json">'
    if marker not in html:
        return None
    return json.loads(html.split(marker)[1].split("</script>")[0])


@pytest.fixture
def image(world):
    return store_image(world, 1)  # 640 × 480, alice's


@pytest.fixture
def save(django_capture_on_commit_callbacks):
    def post(client, image, ops):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(editor(image), json.dumps(ops), content_type="application/json")

    return post


def test_the_editor_opens_with_masks_over_the_text_boxes(client, world, image):
    flag(image)
    client.force_login(world.alice)
    response = client.get(editor(image))
    masks = masks_of(response)
    assert masks["boxes"] == BOXES
    assert masks["strokes"] == [
        {"tool": "brush", "size": 30, "points": [[10, 23.0], [210, 23.0]]},
        {"tool": "brush", "size": 24, "points": [[400, 452.0], [580, 452.0]]},
    ]
    # The server takes them as they are (the browser adds them to the document it sends).
    editing.validate({"strokes": masks["strokes"]}, 640, 480)
    html = response.content.decode()
    assert 'id="text-flag"' in html
    assert "2 text boxes were found burned into this picture" in html
    assert f'action="/direct/images/{image.id}/text-review"' in html


def test_an_image_without_a_flag_opens_as_before(client, world, image):
    ImageCheck.objects.create(
        image=image, name="burned_text", version=1, verdict="pass", values={"boxes": []}
    )
    client.force_login(world.alice)
    response = client.get(editor(image))
    assert masks_of(response) is None
    assert 'id="text-flag"' not in response.content.decode()


def test_a_flag_already_answered_places_no_masks(client, world, image):
    flag(image, reviewed_by=world.mary, reviewed_at="2026-01-02T03:04:05Z")
    client.force_login(world.alice)
    assert masks_of(client.get(editor(image))) is None


@pytest.mark.parametrize("status", [GradingStatus.PRE_GRADED, GradingStatus.GRADED])
def test_a_locked_image_shows_the_flag_with_only_the_answer(client, world, image, status):
    Image.objects.filter(pk=image.pk).update(grading_status=status)
    flag(image)
    client.force_login(world.alice)
    response = client.get(editor(image))
    assert masks_of(response) is None
    html = response.content.decode()
    assert "Its pixels cannot be changed here" in html
    assert "Not patient data" in html


def test_saving_the_edit_records_the_review(client, world, image, save):
    check = flag(image)
    client.force_login(world.alice)
    strokes = text_masks.strokes_for(BOXES, 640, 480)
    assert save(client, image, {"strokes": strokes}).status_code == 200
    check.refresh_from_db()
    assert check.reviewed_by == world.alice and check.reviewed_at is not None
    event = AuditEvent.objects.get(action="image.text_reviewed")
    assert event.data == {"answer": "masked"} and event.object_id == str(image.pk)
    assert masks_of(client.get(editor(image))) is None


def test_a_refused_edit_records_no_review(client, world, image, save):
    check = flag(image)
    client.force_login(world.alice)
    assert save(client, image, {"rotate": 45}).status_code == 400
    check.refresh_from_db()
    assert check.reviewed_at is None


def test_not_patient_data_records_the_review_without_an_edit(client, world, image):
    check = flag(image)
    client.force_login(world.alice)
    response = client.post(review(image), {"next": f"/direct/images/{image.id}"})
    assert response.status_code == 303
    assert response.url == f"/direct/images/{image.id}"
    check.refresh_from_db()
    assert check.reviewed_by == world.alice and check.reviewed_at is not None
    image.refresh_from_db()
    assert not image.has_edit
    assert AuditEvent.objects.get(action="image.text_reviewed").data == {"answer": "dismissed"}
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Marked as not patient data; the picture is unchanged."
    ]


def test_answering_twice_records_one_review(client, world, image):
    flag(image)
    client.force_login(world.alice)
    client.post(review(image))
    response = client.post(review(image))
    assert [str(m) for m in get_messages(response.wsgi_request)][-1] == (
        "This image has no burned-in text waiting for an answer."
    )
    assert AuditEvent.objects.filter(action="image.text_reviewed").count() == 1


def test_an_unsafe_next_goes_to_the_viewer(client, world, image):
    flag(image)
    client.force_login(world.alice)
    response = client.post(review(image), {"next": "https://evil.example/"})
    assert response.url == f"/direct/images/{image.id}"


@pytest.mark.parametrize(
    "who, expected",
    [
        ("alice", 303),  # her own upload
        ("mary", 303),  # a data manager of its lab unit
        ("gina", 403),  # a grader sees it but does not change it
        ("bob", 404),  # another hospital
        ("sam", 404),  # another lab unit of its hospital
    ],
)
@pytest.mark.usefixtures("same_hospital_other_unit_user")
def test_answering_is_scoped_like_editing(client, world, image, who, expected):
    check = flag(image)
    client.force_login(getattr(world, who))
    assert client.post(review(image)).status_code == expected
    check.refresh_from_db()
    assert (check.reviewed_at is not None) == (expected == 303)


def test_answering_needs_a_post_and_a_sign_in(client, world, image):
    assert client.post(review(image)).status_code == 302
    client.force_login(world.alice)
    assert client.get(review(image)).status_code == 405


def test_a_box_taller_than_the_largest_brush_gets_several_strokes():
    strokes = text_masks.strokes_for([[0, 0, 50, 1200]], 100, 2000)
    assert [s["size"] for s in strokes] == [400, 400, 400]
    assert [s["points"][0][1] for s in strokes] == [200, 600, 1000]


def test_strokes_stay_inside_the_picture_and_within_the_room_left():
    strokes = text_masks.strokes_for([[90, 95, 40, 10], [0, 0, 5, 5]], 100, 100, room=1)
    assert strokes == [{"tool": "brush", "size": 10, "points": [[90, 100], [100, 100]]}]


def test_masks_leave_room_for_the_strokes_an_edit_already_has(world, image):
    flag(image)
    image.edit_operations = {"strokes": [{}] * (editing.MAX_STROKES - 1)}
    assert len(text_masks.masks_for(image, 640, 480)["strokes"]) == 1

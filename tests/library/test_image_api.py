"""GET /api/images/<id>: one image's metadata as JSON, inside the user's scope only."""

import json

import pytest

from fundushub.grading.grades import record_grade
from fundushub.library import variants
from fundushub.store.models import Image
from tests.conftest import store_image


def api(client, image):
    return client.get(f"/api/images/{image.id}")


def test_it_describes_a_direct_upload(client, world):
    image = store_image(world, 1, mydriatic=True)
    client.force_login(world.alice)
    response = api(client, image)
    assert response.status_code == 200
    doc = response.json()
    assert doc["id"] == str(image.id)
    assert doc["source"] == "direct"
    assert doc["uploaded_by"] == "alice"
    assert doc["hospital"] == {"id": world.st_lucia.pk, "name": "St Lucia"}
    assert doc["lab_unit"] == {"id": world.retina.pk, "name": "Retina"}
    assert doc["camera"] == {"id": world.topcon.pk, "name": "Topcon TRC-NW400"}
    assert doc["disease"]["code"] == "DR" and doc["disease"]["id"] == world.dr.pk
    assert doc["area"]["code"] == "left"
    assert doc["mydriatic"] is True
    assert (doc["eye"], doc["subject"]) == (None, None)
    assert doc["filename"] == "fundus-1.jpg"
    assert (doc["size"], doc["width"], doc["height"]) == (image.size, 640, 480)
    assert (doc["md5"], doc["sha256"]) == (image.md5, image.sha256)
    assert doc["grading_status"] == "ungraded" and doc["grades"] == []
    assert doc["has_edit"] is False
    assert doc["created_at"].startswith(str(image.created_at.year))
    assert doc["urls"] == {
        "viewer": f"/direct/images/{image.id}",
        "thumbnail": f"/images/{image.id}/thumbnail",
        "display": f"/images/{image.id}/view",
        "download": f"/images/{image.id}/download",
    }


def test_a_camera_image_has_its_eye_and_subject(client, world):
    image = store_image(world, 2, source="camera", subject_identifier="SUBJ-0042", area=world.right)
    client.force_login(world.mary)
    doc = api(client, image).json()
    assert (doc["source"], doc["eye"], doc["subject"]) == ("camera", "right", "SUBJ-0042")


def test_it_lists_every_grade_revision_newest_first(client, world):
    image = store_image(world, 3)
    record_grade(image, "R1", "first look", world.gina)
    record_grade(image, "R2", "", world.gina)
    client.force_login(world.gina)
    doc = api(client, image).json()
    assert doc["grading_status"] == "graded"
    assert [(g["revision"], g["grade"], g["label"]) for g in doc["grades"]] == [
        (2, "R2", "Moderate non-proliferative"),
        (1, "R1", "Mild non-proliferative"),
    ]
    assert doc["grades"][1]["notes"] == "first look"
    assert doc["grades"][0]["graded_by"] == "gina" and doc["grades"][0]["disease"] == "DR"


def test_an_edited_image_links_its_variant(client, world):
    image = store_image(world, 4)
    variants.save_edit(image, json.dumps({"flip_h": True}).encode(), world.alice)
    client.force_login(world.alice)
    doc = api(client, Image.objects.get(pk=image.pk)).json()
    assert doc["has_edit"] is True and doc["edited_at"]
    assert doc["urls"]["edited_display"] == f"/images/{image.id}/view?variant=edited"
    assert doc["urls"]["edited_thumbnail"] == f"/images/{image.id}/thumbnail?variant=edited"


@pytest.mark.parametrize("who, has_original", [("mary", True), ("alice", False), ("gina", False)])
def test_the_original_link_is_offered_only_to_those_who_may_download_it(
    client, world, who, has_original
):
    image = store_image(world, 5)
    client.force_login(getattr(world, who))
    assert ("original" in api(client, image).json()["urls"]) is has_original


@pytest.mark.parametrize("who", ["bob", "root", "sam"])
@pytest.mark.usefixtures("same_hospital_other_unit_user")
def test_outside_your_scope_it_is_a_json_404(client, world, who):
    image = store_image(world, 6)
    client.force_login(getattr(world, who))
    response = api(client, image)
    assert response.status_code == 404
    assert response.json() == {"error": "Image not found"}


def test_anonymous_callers_get_a_json_401_not_a_login_page(client, world):
    image = store_image(world, 7)
    response = api(client, image)
    assert response.status_code == 401
    assert response.json() == {"error": "Authentication required"}


def test_it_answers_only_get(client, world):
    image = store_image(world, 8)
    client.force_login(world.alice)
    assert client.post(f"/api/images/{image.id}").status_code == 405


def test_it_takes_a_fixed_number_of_queries(client, world, django_assert_max_num_queries):
    image = store_image(world, 9)
    for code in ("R0", "R1", "R2", "R3"):
        record_grade(image, code, "", world.gina)
    client.force_login(world.alice)
    with django_assert_max_num_queries(6):
        assert api(client, image).status_code == 200

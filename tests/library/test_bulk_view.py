import uuid

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fundushub.audit.models import AuditEvent
from fundushub.grading.models import Grade
from fundushub.store.models import GradingStatus, Image
from tests.conftest import fundus_png, store_image

URL = reverse("images-bulk")
NEXT = "/direct/dashboard?camera=1"


def bulk(client, images, action="edit", next=NEXT, **extra):
    ids = [str(getattr(i, "pk", i)) for i in images]
    return client.post(URL, {"images": ids, "action": action, "next": next, **extra})


def confirm_edit(client, images, **fields):
    return bulk(client, images, "edit", confirm="1", **fields)


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def fresh(image):
    return Image.objects.get(pk=image.pk)


def small(world, n, **fields):
    """n distinct, small (fast) PNG images uploaded by alice to Retina."""
    return [store_image(world, 1000 + i, data=fundus_png(i), **fields) for i in range(n)]


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# The selection -----------------------------------------------------------------------------


def test_exactly_50_images_are_accepted(client, world):
    images = small(world, 50)
    client.force_login(world.alice)
    response = bulk(client, images)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Edit 50 images" in body
    assert body.count('<input type="hidden" name="images"') == 50


def test_51_images_are_refused_with_a_clear_message(client, world):
    images = small(world, 51)
    client.force_login(world.alice)
    response = bulk(client, images, confirm="1", mydriatic="1")
    assert response.status_code == 303 and response["Location"] == NEXT
    assert messages_of(response) == ["Select at most 50 images at a time (you selected 51)."]
    assert not Image.objects.filter(mydriatic=True).exists()


def test_51_images_are_refused_for_delete_too(client, world):
    images = small(world, 51)
    client.force_login(world.alice)
    response = bulk(client, images, "delete", confirm="1")
    assert messages_of(response) == ["Select at most 50 images at a time (you selected 51)."]
    assert Image.objects.count() == 51


def test_an_id_posted_twice_counts_once(client, world):
    images = small(world, 50)
    client.force_login(world.alice)
    assert bulk(client, images + images[:1]).status_code == 200


def test_nothing_selected_is_refused(client, world):
    client.force_login(world.alice)
    response = bulk(client, [])
    assert response.status_code == 303 and response["Location"] == NEXT
    assert messages_of(response) == ["Select at least one image."]


def test_an_invalid_id_is_a_clear_400(client, world):
    image = store_image(world, 1)
    client.force_login(world.alice)
    response = bulk(client, [image, "not-a-uuid"])
    assert response.status_code == 400
    assert "Invalid image id: &#x27;not-a-uuid&#x27;." in response.content.decode()


@pytest.mark.parametrize("action", ["", "archive"])
def test_an_unknown_action_is_a_clear_400(client, world, action):
    image = store_image(world, 1)
    client.force_login(world.alice)
    response = bulk(client, [image], action)
    assert response.status_code == 400
    assert "choose Edit Selected or Delete Selected" in response.content.decode()


def test_an_image_outside_the_users_scope_makes_the_whole_request_a_404(client, world):
    own = store_image(world, 1)
    elsewhere = store_image(world, 2, user=world.bob, lab_unit=world.outpatients)
    client.force_login(world.alice)
    assert bulk(client, [own, elsewhere]).status_code == 404
    assert confirm_edit(client, [own, elsewhere], mydriatic="1").status_code == 404
    assert not Image.objects.filter(mydriatic=True).exists()


def test_an_image_of_another_lab_unit_of_the_same_hospital_makes_the_whole_request_a_404(
    client, world, same_hospital_other_unit_user
):
    own = store_image(world, 1, user=same_hospital_other_unit_user, lab_unit=world.screening)
    retinas = store_image(world, 2)
    client.force_login(same_hospital_other_unit_user)
    assert bulk(client, [own, retinas]).status_code == 404
    assert confirm_edit(client, [own, retinas], mydriatic="1").status_code == 404
    assert bulk(client, [own, retinas], "delete", confirm="1").status_code == 404
    assert Image.objects.count() == 2 and not Image.objects.filter(mydriatic=True).exists()


def test_an_id_that_does_not_exist_is_a_404(client, world):
    own = store_image(world, 1)
    client.force_login(world.mary)
    assert bulk(client, [own, uuid.uuid4()], "delete").status_code == 404


def test_an_uploader_may_not_change_others_images_in_her_lab_unit(client, world):
    own = store_image(world, 1)
    marys = store_image(world, 2, user=world.mary)
    client.force_login(world.alice)
    response = confirm_edit(client, [own, marys], mydriatic="1")
    assert response.status_code == 403
    assert (
        "You may not change 1 image of the 2 selected (you may change only the images you"
        " uploaded yourself). Nothing was changed." in response.content.decode()
    )
    assert not Image.objects.filter(mydriatic=True).exists()
    assert bulk(client, [own, marys], "delete", confirm="1").status_code == 403
    assert Image.objects.count() == 2


def test_a_grader_may_not_change_images(client, world):
    images = small(world, 2)
    client.force_login(world.gina)
    response = bulk(client, images, "delete")
    assert response.status_code == 403
    assert (
        "You may not change 2 images of the 2 selected (your role may view images but not"
        " change them)." in response.content.decode()
    )


@pytest.mark.parametrize("who", ["mary", "root"])
def test_data_managers_and_admins_change_images_they_see(client, world, who):
    unit = world.retina if who == "mary" else world.outpatients
    images = [store_image(world, i, user=world.bob, lab_unit=unit) for i in (1, 2)]
    client.force_login(getattr(world, who))
    response = confirm_edit(client, images, mydriatic="1")
    assert response.status_code == 303
    assert Image.objects.filter(mydriatic=True).count() == 2


def test_it_only_accepts_post(client, world):
    client.force_login(world.alice)
    assert client.get(URL).status_code == 405


def test_an_unsafe_next_falls_back_to_the_dashboard(client, world):
    client.force_login(world.alice)
    response = bulk(client, [], next="https://evil.example/")
    assert response["Location"] == reverse("dashboard")


# Bulk edit ---------------------------------------------------------------------------------


def test_the_edit_form_lists_the_images_and_leaves_everything_unchanged_by_default(client, world):
    images = small(world, 2)
    client.force_login(world.alice)
    response = bulk(client, images)
    body = response.content.decode()
    assert "fundus-1000.png" in body and "fundus-1001.png" in body
    assert body.count('<option value="">Leave unchanged</option>') == 4  # lab unit … area
    assert body.count('value="" checked> <span>Leave unchanged</span>') == 2  # hospital, mydriatic
    assert 'name="mydriatic" value="0"' in body and ">Non Mydriatic<" in body
    assert 'name="mydriatic" value="1"' in body
    assert f'<input type="hidden" name="next" value="{NEXT}">' in body
    assert not events("image.metadata_changed")


def test_it_sets_mydriatic_and_disease_on_every_selected_image(client, world):
    images = small(world, 2)
    client.force_login(world.alice)
    response = confirm_edit(client, images, mydriatic="1", disease=world.glaucoma.pk)
    assert response.status_code == 303 and response["Location"] == NEXT
    assert messages_of(response) == ["Updated 2 images"]
    for image in images:
        image = fresh(image)
        assert image.mydriatic is True and image.disease == world.glaucoma


def test_it_sets_mydriatic_back_to_false(client, world):
    images = small(world, 2, mydriatic=True)
    client.force_login(world.alice)
    confirm_edit(client, images, mydriatic="0")
    assert not Image.objects.filter(mydriatic=True).exists()


def test_fields_left_unchanged_keep_each_images_own_value(client, world):
    first = store_image(world, 1, camera=world.topcon, area=world.left)
    second = store_image(world, 2, camera=world.canon, area=world.right)
    client.force_login(world.alice)
    confirm_edit(client, [first, second], disease=world.glaucoma.pk)
    assert (fresh(first).camera, fresh(first).area) == (world.topcon, world.left)
    assert (fresh(second).camera, fresh(second).area) == (world.canon, world.right)


def test_it_moves_images_to_another_hospitals_lab_unit(client, world):
    world.mary.lab_units.add(world.outpatients)
    images = small(world, 2)
    client.force_login(world.mary)
    confirm_edit(client, images, hospital=world.northgate.pk, lab_unit=world.outpatients.pk)
    for image in images:
        assert (fresh(image).hospital, fresh(image).lab_unit) == (
            world.northgate,
            world.outpatients,
        )


def test_a_lab_unit_alone_moves_images_within_their_hospital(client, world):
    images = small(world, 2)
    client.force_login(world.mary)
    assert confirm_edit(client, images, lab_unit=world.screening.pk).status_code == 303
    assert all(fresh(i).lab_unit == world.screening for i in images)


def test_a_new_hospital_needs_a_lab_unit(client, world):
    world.mary.lab_units.add(world.outpatients)
    images = small(world, 2)
    client.force_login(world.mary)
    response = confirm_edit(client, images, hospital=world.northgate.pk)
    assert response.status_code == 400
    assert "Choose a lab unit in the new hospital." in response.content.decode()
    assert all(fresh(i).hospital == world.st_lucia for i in images)


def test_a_lab_unit_must_be_in_the_chosen_hospital(client, world):
    world.mary.lab_units.add(world.outpatients)
    images = small(world, 1)
    client.force_login(world.mary)
    response = confirm_edit(
        client, images, hospital=world.st_lucia.pk, lab_unit=world.outpatients.pk
    )
    assert response.status_code == 400
    assert "You don&#x27;t have access to the selected lab unit" in response.content.decode()


def test_a_lab_unit_alone_must_be_in_each_images_hospital(client, world):
    world.mary.lab_units.add(world.outpatients)
    here = store_image(world, 1)
    there = store_image(world, 2, user=world.bob, lab_unit=world.outpatients)
    client.force_login(world.mary)
    response = confirm_edit(client, [here, there], lab_unit=world.screening.pk)
    assert response.status_code == 400
    assert (
        "Screening is not in the hospital of fundus-2.jpg (Northgate)" in response.content.decode()
    )
    assert fresh(here).lab_unit == world.retina  # nothing applied


def test_a_lab_unit_must_be_assigned_to_the_user(client, world):
    images = small(world, 1)
    client.force_login(world.alice)
    response = confirm_edit(client, images, lab_unit=world.screening.pk)
    assert response.status_code == 400
    assert "You don&#x27;t have access to the selected lab unit" in response.content.decode()
    assert fresh(images[0]).lab_unit == world.retina


def test_choosing_nothing_to_change_is_refused(client, world):
    images = small(world, 1)
    client.force_login(world.alice)
    response = confirm_edit(client, images)
    assert response.status_code == 400
    assert "Choose at least one field to change." in response.content.decode()


def test_a_refused_form_keeps_the_selection_and_the_choices(client, world):
    images = small(world, 2)
    client.force_login(world.alice)
    response = confirm_edit(client, images, mydriatic="1", lab_unit=world.screening.pk)
    body = response.content.decode()
    assert body.count('<input type="hidden" name="images"') == 2
    assert 'name="mydriatic" value="1" checked' in body


def test_values_already_in_place_change_nothing(client, world):
    images = small(world, 2)
    client.force_login(world.alice)
    response = confirm_edit(client, images, disease=world.dr.pk, mydriatic="0")
    assert messages_of(response) == ["Nothing changed"]
    assert not events("image.metadata_changed")


def test_a_collision_on_one_image_rolls_back_the_whole_edit(client, world):
    world.mary.lab_units.add(world.outpatients)
    first = store_image(world, 1)
    second = store_image(world, 2)
    store_image(world, 2, user=world.bob, lab_unit=world.outpatients)  # Northgate has seed 2
    client.force_login(world.mary)
    response = confirm_edit(
        client,
        [first, second],
        hospital=world.northgate.pk,
        lab_unit=world.outpatients.pk,
        mydriatic="1",
    )
    assert response.status_code == 409
    assert (
        "An identical image is already stored for Northgate, so fundus-2.jpg cannot move there."
        in response.content.decode()
    )
    assert fresh(first).hospital == world.st_lucia and fresh(first).mydriatic is False
    assert not events("image.metadata_changed") and not events("images.bulk_edited")


def test_a_graded_images_disease_is_not_changed_in_bulk(client, world):
    plain = store_image(world, 1)
    graded = store_image(world, 2, grading_status=GradingStatus.GRADED)
    Grade.objects.create(image=graded, revision=1, disease=world.dr, grade="R0")
    client.force_login(world.alice)
    assert "1 graded image keeps its disease" in bulk(client, [plain, graded]).content.decode()
    response = confirm_edit(client, [plain, graded], disease=world.glaucoma.pk)
    assert response.status_code == 400
    assert "The disease of graded images cannot be changed: fundus-2.jpg." in (
        response.content.decode()
    )
    assert fresh(plain).disease == world.dr
    assert confirm_edit(client, [plain, graded], mydriatic="1").status_code == 303
    assert fresh(graded).mydriatic is True


def test_every_changed_image_and_the_bulk_edit_are_audited(client, world):
    first = store_image(world, 1)
    second = store_image(world, 2, mydriatic=True)
    client.force_login(world.alice)
    confirm_edit(client, [first, second], mydriatic="1", area=world.right.pk)
    per_image = {e.object_id: e.data for e in events("image.metadata_changed")}
    assert per_image[str(first.pk)]["before"] == {
        "area": {"id": world.left.pk, "name": "Left eye"},
        "mydriatic": False,
    }
    assert per_image[str(first.pk)]["after"] == {
        "area": {"id": world.right.pk, "name": "Right eye"},
        "mydriatic": True,
    }
    assert per_image[str(second.pk)]["before"] == {
        "area": {"id": world.left.pk, "name": "Left eye"}
    }
    assert per_image[str(second.pk)]["bulk"] is True
    (summary,) = events("images.bulk_edited")
    assert set(summary.data["images"]) == {str(first.pk), str(second.pk)}
    assert summary.user == world.alice


# Bulk delete (what is removed from storage: test_deletion.py) ------------------------------


def test_the_delete_confirmation_lists_the_images_and_deletes_nothing(client, world):
    images = small(world, 2)
    client.force_login(world.alice)
    response = bulk(client, images, "delete")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Delete 2 images? Deleted images cannot be recovered." in body
    assert "fundus-1000.png" in body and "fundus-1001.png" in body
    assert '<input type="hidden" name="confirm" value="1">' in body
    assert f'href="{NEXT}">Cancel</a>' in body
    assert Image.objects.count() == 2 and not events("image.deleted")


def test_a_confirmed_delete_removes_the_rows_and_says_so(client, world):
    images = small(world, 3)
    client.force_login(world.alice)
    response = bulk(client, images[:2], "delete", confirm="1")
    assert response.status_code == 303 and response["Location"] == NEXT
    assert messages_of(response) == ["Deleted 2 images"]
    assert list(Image.objects.all()) == [images[2]]


def test_graded_images_refuse_the_whole_delete(client, world):
    plain = store_image(world, 1)
    graded = store_image(world, 2, grading_status=GradingStatus.GRADED)
    client.force_login(world.alice)
    for extra in ({}, {"confirm": "1"}):
        response = bulk(client, [plain, graded], "delete", **extra)
        assert response.status_code == 409
        body = response.content.decode()
        assert "Graded images cannot be deleted: fundus-2.jpg." in body
        assert 'name="confirm"' not in body
    assert Image.objects.count() == 2


def test_pre_graded_images_may_be_deleted(client, world):
    image = store_image(world, 1, grading_status=GradingStatus.PRE_GRADED)
    client.force_login(world.alice)
    assert bulk(client, [image], "delete", confirm="1").status_code == 303
    assert not Image.objects.exists()


def test_the_delete_page_says_camera_files_keep_their_archive(client, world):
    image = store_image(world, 1, source="camera")
    client.force_login(world.mary)
    body = bulk(client, [image], "delete").content.decode()
    assert "the camera examination keeps its own archived copy" in body


def test_deleting_from_the_viewer_goes_back_to_the_dashboard(client, world):
    image = store_image(world, 1)
    client.force_login(world.alice)
    viewer = reverse("image-viewer", args=[image.id])
    response = bulk(client, [image], "delete", next=viewer, confirm="1")
    assert response["Location"] == reverse("dashboard")


def test_one_image_is_one_image(client, world):
    image = store_image(world, 1)
    client.force_login(world.alice)
    assert "Delete 1 image?" in bulk(client, [image], "delete").content.decode()
    response = bulk(client, [image], "delete", confirm="1")
    assert messages_of(response) == ["Deleted 1 image"]


@pytest.mark.parametrize("action", ["edit", "delete"])
def test_the_confirmation_pages_cost_the_same_queries_for_2_or_20_images(client, world, action):
    images = small(world, 20)
    client.force_login(world.mary)
    counts = []
    for selection in (images[:2], images):
        with CaptureQueriesContext(connection) as queries:
            assert bulk(client, selection, action).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]

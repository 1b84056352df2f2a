import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from fundushub.audit.models import AuditEvent
from fundushub.grading.models import Grade
from fundushub.store.models import GradingStatus, Image
from tests.conftest import form_data, store_image


def url(image):
    return reverse("image-edit", args=[image.id])


def post(client, world, image, mydriatic=False, **overrides):
    data = form_data(world, **overrides)
    if mydriatic:
        data["mydriatic"] = "on"
    return client.post(url(image), data)


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def changes_audited():
    return list(AuditEvent.objects.filter(action="image.metadata_changed"))


def fresh(image):
    return Image.objects.get(pk=image.pk)


def test_the_form_is_prefilled_with_the_images_metadata(client, world):
    image = store_image(world, 1, camera=world.canon, disease=world.glaucoma, area=world.right)
    Image.objects.filter(pk=image.pk).update(mydriatic=True)
    client.force_login(world.alice)
    body = client.get(url(image)).content.decode()
    assert f'name="hospital" value="{world.st_lucia.pk}" required checked' in body
    assert f'<option value="{world.retina.pk}" selected>Retina</option>' in body
    assert f'<option value="{world.canon.pk}" selected>' in body
    assert f'<option value="{world.glaucoma.pk}" selected>' in body
    assert f'<option value="{world.right.pk}" selected>' in body
    assert 'id="mydriatic" role="switch" aria-labelledby="mydriatic-on" checked' in body


def test_the_hospital_choices_are_the_hospitals_of_the_users_lab_units(client, world):
    image = store_image(world, 1)
    client.force_login(world.alice)
    body = client.get(url(image)).content.decode()
    assert "St Lucia" in body and "Northgate" not in body
    assert "Screening" not in body  # a lab unit of her hospital she is not assigned to


def test_it_changes_camera_disease_and_area(client, world):
    image = store_image(world, 1)
    client.force_login(world.alice)
    response = post(
        client, world, image, camera=world.canon.pk, disease=world.glaucoma.pk, area=world.right.pk
    )
    assert response.status_code == 303
    image = fresh(image)
    assert (image.camera, image.disease, image.area) == (world.canon, world.glaucoma, world.right)


def test_it_moves_an_image_to_another_lab_unit_of_its_hospital(client, world):
    image = store_image(world, 1)
    client.force_login(world.mary)
    post(client, world, image, lab_unit=world.screening.pk)
    assert fresh(image).lab_unit == world.screening


def test_it_moves_an_image_to_another_hospital(client, world):
    world.mary.lab_units.add(world.outpatients)
    image = store_image(world, 1)
    client.force_login(world.mary)
    post(client, world, image, hospital=world.northgate.pk, lab_unit=world.outpatients.pk)
    image = fresh(image)
    assert (image.hospital, image.lab_unit) == (world.northgate, world.outpatients)


def test_it_sets_mydriatic(client, world):
    image = store_image(world, 1)
    client.force_login(world.alice)
    post(client, world, image, mydriatic=True)
    assert fresh(image).mydriatic is True


def test_unchecking_mydriatic_sets_it_back_to_false(client, world):
    image = store_image(world, 1, mydriatic=True)
    client.force_login(world.alice)
    response = post(client, world, image)  # an unchecked checkbox sends nothing
    assert response.status_code == 303
    assert fresh(image).mydriatic is False
    (event,) = changes_audited()
    assert event.data["before"] == {"mydriatic": True}
    assert event.data["after"] == {"mydriatic": False}


def test_it_refuses_a_lab_unit_of_another_hospital(client, world):
    world.mary.lab_units.add(world.outpatients)
    image = store_image(world, 1)
    client.force_login(world.mary)
    response = post(client, world, image, lab_unit=world.outpatients.pk)  # hospital St Lucia
    assert response.status_code == 400
    assert "You don&#x27;t have access to the selected lab unit" in response.content.decode()
    assert fresh(image).lab_unit == world.retina and not changes_audited()


def test_it_refuses_a_lab_unit_not_assigned_to_the_user(client, world):
    image = store_image(world, 1)
    client.force_login(world.alice)
    response = post(client, world, image, lab_unit=world.screening.pk)
    assert response.status_code == 400
    assert "You don&#x27;t have access to the selected lab unit" in response.content.decode()
    assert fresh(image).lab_unit == world.retina


def test_admins_are_not_exempt_from_the_lab_unit_rule(client, world):
    image = store_image(world, 1, user=world.bob, lab_unit=world.outpatients)
    client.force_login(world.root)
    response = post(client, world, image, lab_unit=world.retina.pk)  # root: Outpatients only
    assert response.status_code == 400
    assert fresh(image).lab_unit == world.outpatients


@pytest.mark.parametrize("field", ["hospital", "lab_unit", "camera", "disease", "area"])
def test_it_requires_every_field(client, world, field):
    image = store_image(world, 1)
    client.force_login(world.alice)
    overrides = {"camera": world.canon.pk, field: None}  # a change beside the missing field
    response = post(client, world, image, **overrides)
    assert response.status_code == 400
    assert "All fields are required" in response.content.decode()
    assert fresh(image).camera == world.topcon


def test_it_refuses_a_camera_that_does_not_exist(client, world):
    image = store_image(world, 1)
    client.force_login(world.alice)
    response = post(client, world, image, camera=987654)
    assert response.status_code == 400
    assert "All fields are required" in response.content.decode()


def test_the_refused_form_keeps_what_was_chosen(client, world):
    image = store_image(world, 1)
    client.force_login(world.alice)
    response = post(client, world, image, camera=world.canon.pk, area=None)
    assert f'<option value="{world.canon.pk}" selected>' in response.content.decode()


def test_keeping_a_lab_unit_the_uploader_has_left_is_not_a_move(client, world):
    image = store_image(world, 1, lab_unit=world.screening)  # alice is not in Screening
    client.force_login(world.alice)
    assert "Screening (current)" in client.get(url(image)).content.decode()
    response = post(client, world, image, lab_unit=world.screening.pk, mydriatic=True)
    assert response.status_code == 303
    image = fresh(image)
    assert image.mydriatic is True and image.lab_unit == world.screening


def test_moving_to_a_hospital_that_has_the_same_bytes_is_refused_clearly(client, world):
    world.mary.lab_units.add(world.outpatients)
    image = store_image(world, 1)
    store_image(world, 1, user=world.bob, lab_unit=world.outpatients)  # Northgate's own copy
    client.force_login(world.mary)
    response = post(
        client, world, image, hospital=world.northgate.pk, lab_unit=world.outpatients.pk
    )
    assert response.status_code == 409
    assert "An identical image is already stored for Northgate" in response.content.decode()
    assert fresh(image).hospital == world.st_lucia
    assert not changes_audited()


def test_nothing_changed_says_so_and_records_nothing(client, world):
    image = store_image(world, 1)
    client.force_login(world.alice)
    response = post(client, world, image)
    assert response.status_code == 303
    assert messages_of(response) == ["Nothing changed"]
    assert not changes_audited()


def test_the_audit_has_before_and_after_of_the_changed_fields_only(client, world):
    image = store_image(world, 1)
    client.force_login(world.mary)
    post(
        client, world, image, lab_unit=world.screening.pk, disease=world.glaucoma.pk, mydriatic=True
    )
    (event,) = changes_audited()
    assert event.user == world.mary and event.object_id == str(image.pk)
    assert event.data["before"] == {
        "lab_unit": {"id": world.retina.pk, "name": "Retina"},
        "disease": {"id": world.dr.pk, "name": "DR"},
        "mydriatic": False,
    }
    assert event.data["after"] == {
        "lab_unit": {"id": world.screening.pk, "name": "Screening"},
        "disease": {"id": world.glaucoma.pk, "name": "Glaucoma"},
        "mydriatic": True,
    }
    assert event.data["filename"] == "fundus-1.jpg"


def test_it_redirects_to_the_viewer_with_a_success_message(client, world):
    image = store_image(world, 1)
    client.force_login(world.alice)
    response = post(client, world, image, area=world.right.pk)
    assert response.status_code == 303
    assert response["Location"] == reverse("image-viewer", args=[image.id])
    assert messages_of(response) == ["Saved fundus-1.jpg: changed area."]


def test_it_redirects_to_a_safe_next(client, world):
    image = store_image(world, 1)
    client.force_login(world.alice)
    data = {**form_data(world, area=world.right.pk), "next": "/direct/dashboard?area=2"}
    assert client.post(url(image), data)["Location"] == "/direct/dashboard?area=2"


def test_it_ignores_a_next_on_another_site(client, world):
    image = store_image(world, 1)
    client.force_login(world.alice)
    data = {**form_data(world), "next": "https://evil.example/steal"}
    assert client.post(url(image), data)["Location"] == reverse("image-viewer", args=[image.id])


def _graded(world, seed=1, **fields):
    image = store_image(world, seed, grading_status=GradingStatus.GRADED, **fields)
    Grade.objects.create(
        image=image, revision=1, disease=world.dr, grade="R1", graded_by=world.gina
    )
    return image


def test_a_graded_images_disease_cannot_be_changed(client, world):
    image = _graded(world)
    client.force_login(world.alice)
    response = post(client, world, image, disease=world.glaucoma.pk)
    assert response.status_code == 400
    assert (
        "The disease of a graded image cannot be changed: its grades are for DR."
        in response.content.decode()
    )
    assert fresh(image).disease == world.dr and not changes_audited()


def test_a_graded_image_may_have_its_other_metadata_changed(client, world):
    image = _graded(world)
    client.force_login(world.alice)
    body = client.get(url(image)).content.decode()
    assert "Graded: the disease stays" in body
    response = post(client, world, image, area=world.right.pk, mydriatic=True)
    assert response.status_code == 303
    image = fresh(image)
    assert image.area == world.right and image.mydriatic and image.disease == world.dr


def test_a_camera_image_can_be_edited(client, world):
    image = store_image(world, 1, source="camera", disease=None)
    Image.objects.filter(pk=image.pk).update(uploaded_by=None)
    client.force_login(world.mary)
    assert client.get(url(image)).status_code == 200
    response = post(client, world, image, disease=world.dr.pk, area=world.right.pk)
    assert response.status_code == 303
    image = fresh(image)
    assert (image.disease, image.area) == (world.dr, world.right)


@pytest.mark.parametrize(
    "who, uploader, lab_unit, status",
    [
        ("alice", "alice", "retina", 200),  # her own upload
        ("alice", "mary", "retina", 403),  # another's image in her lab unit
        ("mary", "alice", "retina", 200),  # data manager
        ("root", "bob", "outpatients", 200),  # admin
        ("gina", "alice", "retina", 403),  # grader: sees it, may not change it
        ("bob", "alice", "retina", 404),  # outsider: it does not exist for him
        ("sam", "alice", "retina", 404),  # another lab unit of her hospital: nor for him
    ],
)
@pytest.mark.usefixtures("same_hospital_other_unit_user")
def test_who_may_edit_an_image(client, world, who, uploader, lab_unit, status):
    image = store_image(world, 1, user=getattr(world, uploader), lab_unit=getattr(world, lab_unit))
    client.force_login(getattr(world, who))
    assert client.get(url(image)).status_code == status
    unit = getattr(world, lab_unit)
    response = post(
        client, world, image, hospital=unit.hospital_id, lab_unit=unit.pk, mydriatic=True
    )
    assert response.status_code == (303 if status == 200 else status)
    assert fresh(image).mydriatic is (status == 200)


def test_it_requires_sign_in(client, world):
    image = store_image(world, 1)
    response = client.get(url(image))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_unknown_image_is_a_404(client, world):
    client.force_login(world.mary)
    image = Image(id="00000000-0000-0000-0000-000000000000")
    assert client.get(url(image)).status_code == 404


def test_an_image_graded_without_a_disease_can_still_be_edited(client, world):
    image = store_image(world, 1, grading_status=GradingStatus.GRADED, disease=None)
    Grade.objects.create(image=image, revision=1, disease=None, grade="N")
    client.force_login(world.mary)
    response = post(client, world, image, disease=None, area=world.right.pk)
    assert response.status_code == 303
    image = fresh(image)
    assert image.area == world.right and image.disease is None
    refused = post(client, world, image, disease=world.dr.pk)
    assert refused.status_code == 400 and fresh(image).disease is None

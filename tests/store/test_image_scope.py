"""Image.objects.visible_to: the images of a user's lab units, and their own uploads."""

from django.contrib.auth.models import AnonymousUser

from fundushub.store.models import Image
from tests.conftest import store_image


def visible(user) -> set:
    return set(Image.objects.visible_to(user).values_list("original_filename", flat=True))


def test_a_user_sees_their_lab_units_images_and_their_own_uploads_elsewhere(world):
    store_image(world, 1, user=world.mary, original_filename="colleague.jpg")
    store_image(world, 2, lab_unit=world.outpatients, original_filename="mine-elsewhere.jpg")
    store_image(world, 3, user=world.bob, lab_unit=world.outpatients, original_filename="bob.jpg")
    assert visible(world.alice) == {"colleague.jpg", "mine-elsewhere.jpg"}


def test_another_lab_unit_of_the_same_hospital_is_out_of_scope(
    world, same_hospital_other_unit_user
):
    store_image(world, 1, original_filename="retina.jpg")
    store_image(world, 2, user=world.mary, lab_unit=world.screening, original_filename="scr.jpg")
    assert visible(same_hospital_other_unit_user) == {"scr.jpg"}


def test_another_hospital_is_out_of_scope(world):
    store_image(world, 1, original_filename="retina.jpg")
    assert visible(world.bob) == set()


def test_an_anonymous_visitor_sees_nothing(world):
    store_image(world, 1)
    assert visible(AnonymousUser()) == set()

"""The metadata change itself (images.metadata), below the views."""

import pytest
from django.test import RequestFactory

from fundushub.audit.models import AuditEvent
from fundushub.library import metadata
from fundushub.library.metadata import MetadataError
from fundushub.store.models import Image
from tests.conftest import store_image


def request_by(user):
    request = RequestFactory().post("/direct/images/bulk", HTTP_USER_AGENT="pytest")
    request.user = user
    return request


@pytest.mark.parametrize("raw, expected", [("0", False), ("1", True)])
def test_bulk_mydriatic_is_set_either_way(world, raw, expected):
    assert metadata.clean_bulk(world.alice, {"mydriatic": raw}) == {"mydriatic": expected}


def test_bulk_mydriatic_left_empty_is_left_unchanged(world):
    values = metadata.clean_bulk(world.alice, {"mydriatic": "", "area": str(world.right.pk)})
    assert values == {"area": world.right}


def test_bulk_mydriatic_must_be_one_of_the_three_choices(world):
    with pytest.raises(MetadataError, match="Leave unchanged, Non Mydriatic or Mydriatic"):
        metadata.clean_bulk(world.alice, {"mydriatic": "on"})


@pytest.mark.parametrize("field, label", [("camera", "camera"), ("lab_unit", "lab unit")])
def test_bulk_refuses_a_choice_that_does_not_exist(world, field, label):
    with pytest.raises(MetadataError, match=f"Choose a {label} from the list."):
        metadata.clean_bulk(world.alice, {field: "424242"})


def test_bulk_refuses_a_hospital_the_user_has_no_lab_unit_in(world):
    with pytest.raises(MetadataError, match="You don't have access to the selected lab unit"):
        metadata.clean_bulk(
            world.alice,
            {"hospital": str(world.northgate.pk), "lab_unit": str(world.outpatients.pk)},
        )


def test_a_lab_unit_alone_does_not_choose_a_hospital(world):
    values = metadata.clean_bulk(world.mary, {"lab_unit": str(world.screening.pk)})
    assert values == {"lab_unit": world.screening}


def test_one_image_without_mydriatic_in_the_form_is_non_mydriatic(world):
    image = store_image(world, 1, mydriatic=True)
    data = {
        "hospital": world.st_lucia.pk,
        "lab_unit": world.retina.pk,
        "camera": world.topcon.pk,
        "disease": world.dr.pk,
        "area": world.left.pk,
    }
    assert metadata.clean_one(world.alice, image, data)["mydriatic"] is False


def test_describe_gives_ids_and_names(world):
    assert metadata.describe("hospital", world.st_lucia) == {
        "id": world.st_lucia.pk,
        "name": "St Lucia",
    }
    assert metadata.describe("disease", world.glaucoma)["name"] == "Glaucoma"
    assert metadata.describe("camera", None) is None
    assert metadata.describe("mydriatic", False) is False


def test_change_many_returns_only_the_images_that_changed(world):
    already = store_image(world, 1, area=world.right)
    other = store_image(world, 2)
    changed = metadata.change_many(
        request_by(world.alice), [already.pk, other.pk], {"area": world.right}
    )
    assert [i.pk for i in changed] == [other.pk]
    assert AuditEvent.objects.filter(action="image.metadata_changed").count() == 1


def test_two_selected_copies_of_the_same_bytes_cannot_land_in_one_hospital(world):
    # One St Lucia image and Northgate's copy of the same bytes, both moved to St Lucia's Screening.
    world.mary.lab_units.add(world.outpatients)
    here = store_image(world, 1)
    there = store_image(
        world, 1, user=world.bob, lab_unit=world.outpatients, original_filename="copy.jpg"
    )
    values = {"hospital": world.st_lucia, "lab_unit": world.screening, "mydriatic": True}
    with pytest.raises(MetadataError) as refused:
        metadata.change_many(request_by(world.mary), [here.pk, there.pk], values)
    assert refused.value.status == 409
    assert "already stored for St Lucia, so copy.jpg cannot move there" in refused.value.message
    assert Image.objects.get(pk=here.pk).lab_unit == world.retina  # rolled back
    assert not Image.objects.filter(mydriatic=True).exists()
    assert not AuditEvent.objects.exists()


def test_change_one_records_who_and_from_where(world):
    image = store_image(world, 1)
    metadata.change_one(request_by(world.alice), image, {"area": world.right})
    (event,) = AuditEvent.objects.filter(action="image.metadata_changed")
    assert (event.user, event.user_agent, event.ip) == (world.alice, "pytest", "127.0.0.1")


def test_an_image_deleted_meanwhile_is_refused_not_a_500(world):
    image = store_image(world, 1)
    Image.objects.filter(pk=image.pk).delete()
    with pytest.raises(MetadataError, match="deleted meanwhile") as refused:
        metadata.change_one(request_by(world.alice), image, {"area": world.right})
    assert refused.value.status == 404


def test_a_selection_with_an_image_deleted_meanwhile_changes_nothing(world):
    kept, gone = store_image(world, 1), store_image(world, 2)
    Image.objects.filter(pk=gone.pk).delete()
    with pytest.raises(MetadataError, match="deleted meanwhile"):
        metadata.change_many(request_by(world.alice), [kept.pk, gone.pk], {"area": world.right})
    assert Image.objects.get(pk=kept.pk).area == world.left

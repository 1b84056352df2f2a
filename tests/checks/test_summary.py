"""checks.summary: what the checks found, in plain sentences, for many images in one query."""

from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from fundushub.checks import summary
from fundushub.store.models import Image
from tests.checks.results import add_result, all_clear, all_flagged, four_checks  # noqa: F401
from tests.conftest import store_image

pytestmark = pytest.mark.usefixtures("four_checks")


def texts(entry):
    return {c["name"]: c["text"] for c in entry["checks"]}


def age(image, hours):
    Image.objects.filter(pk=image.pk).update(created_at=timezone.now() - timedelta(hours=hours))


def test_it_says_what_each_check_flagged_in_plain_sentences(world):
    twin, image = store_image(world, 1), store_image(world, 2)
    all_flagged(image, twin)
    entry = summary.summaries_for([image.pk], world.alice)[image.pk]
    assert texts(entry) == {
        "gradability": "Looks blurred; too dark — recapture while the patient is here",
        "laterality": "Eye may be mislabelled",
        "near_duplicate": "Looks like another image",
        "burned_text": "Possible patient text — not yet reviewed",
    }
    assert entry["state"] == "done" and entry["flagged"] and not entry["clear"]
    assert [c["name"] for c in entry["checks"]] == list(summary.ORDER)
    assert {c["tone"] for c in entry["notable"]} == {"flag"}
    near = entry["checks"][2]
    assert near["twin_id"] == twin.pk and near["label"] == "Near-duplicate"


def test_it_says_all_clear_once_every_check_found_nothing(world):
    image = store_image(world, 1)
    all_clear(image)
    entry = summary.summaries_for([image.pk])[image.pk]
    assert entry["clear"] and entry["notable"] == [] and not entry["flagged"]
    assert texts(entry)["gradability"] == "Looks gradable"


def test_it_keeps_a_usable_image_s_reason_as_a_note_not_a_flag(world):
    image = store_image(world, 1)
    add_result(image, "gradability", "usable", "a little blurred")
    (check,) = summary.summaries_for([image.pk])[image.pk]["checks"]
    assert (check["tone"], check["text"]) == ("note", "Usable: a little blurred")


def test_it_says_a_check_that_failed_or_did_not_run_checked_nothing(world):
    image = store_image(world, 1)
    add_result(image, "gradability", "error", "Not run: this image's checks took over 20 s")
    add_result(image, "laterality", "error")
    got = summary.summaries_for([image.pk])[image.pk]["checks"]
    assert (
        got[0]["text"] == "Gradability: not checked (Not run: this image's checks took over 20 s)"
    )
    assert (got[1]["tone"], got[1]["text"]) == ("error", "Check failed")


def test_it_says_burned_text_that_a_person_reviewed_is_reviewed(world):
    image = store_image(world, 1)
    add_result(image, "burned_text", "flag", "possible patient data", True)
    image.checks.update(reviewed_at=timezone.now(), reviewed_by=world.mary)
    (check,) = summary.summaries_for([image.pk])[image.pk]["checks"]
    assert check["reviewed"] and check["tone"] == "note"
    assert check["text"] == "Possible patient text — reviewed"


def test_it_links_a_twin_only_for_a_reader_who_may_see_it(world):
    elsewhere = store_image(world, 1, lab_unit=world.outpatients, user=world.bob)
    image = store_image(world, 2)
    add_result(image, "near_duplicate", "flag", "looks like an earlier image", True, twin=elsewhere)
    for reader, twin in [(world.alice, None), (world.bob, elsewhere.pk), (None, None)]:
        (check,) = summary.summaries_for([image.pk], reader)[image.pk]["checks"]
        assert check["twin_id"] == twin, reader
        assert check["text"] == "Looks like another image"


def test_it_says_checking_while_a_new_image_has_no_result_and_not_checked_once_old(world):
    image = store_image(world, 1)
    assert summary.summaries_for([image.pk])[image.pk]["text"] == "Checking…"
    age(image, 2)
    entry = summary.summaries_for([image.pk])[image.pk]
    assert (entry["state"], entry["text"], entry["checks"]) == ("not_checked", "Not checked", [])


def test_it_says_checking_while_some_results_have_landed_and_others_not(world):
    image = store_image(world, 1)
    add_result(image, "gradability", "ungradable", "too dark", True)
    entry = summary.summaries_for([image.pk])[image.pk]
    assert entry["state"] == "checking" and entry["flagged"]
    assert [c["name"] for c in entry["notable"]] == ["gradability"]
    age(image, 2)  # the rest never came: what did land stands
    assert summary.summaries_for([image.pk])[image.pk]["state"] == "done"


def test_it_says_not_checked_when_checks_are_off(world, settings):
    settings.FUNDUSHUB_CHECKS = False
    image = store_image(world, 1)
    assert summary.summaries_for([image.pk])[image.pk]["state"] == "not_checked"


def test_it_names_a_check_it_does_not_know_from_the_registry(world, four_checks):  # noqa: F811
    image = store_image(world, 1)
    add_result(image, "vessel_count", "flag", "few vessels found", True)
    add_result(image, "gradability", "good")
    got = summary.summaries_for([image.pk])[image.pk]["checks"]
    assert [c["name"] for c in got] == ["gradability", "vessel_count"]  # known ones first
    assert (got[1]["label"], got[1]["text"]) == ("Vessel count", "Few vessels found")
    assert summary.describe("other", "pass", "", False, False) == ("ok", "Other: no problem found")


def test_it_reads_many_images_in_one_query(world, django_assert_num_queries):
    images = [store_image(world, n) for n in range(10)]
    for image in images[:5]:
        all_flagged(image, images[9])
    all_clear(images[5])
    with django_assert_num_queries(1):
        found = summary.summaries_for([i.pk for i in images], world.alice)
    assert len(found) == 10
    assert [found[i.pk]["state"] for i in images] == ["done"] * 6 + ["checking"] * 4
    assert all(len(found[i.pk]["checks"]) == 4 for i in images[:6])


def test_it_asks_nothing_for_no_images_and_leaves_out_images_that_do_not_exist(
    world, django_assert_num_queries
):
    with django_assert_num_queries(0):
        assert summary.summaries_for([]) == {}
    image = store_image(world, 1)
    gone = store_image(world, 2)
    gone_pk = gone.pk
    Image.objects.filter(pk=gone_pk).delete()
    assert set(summary.summaries_for([image.pk, gone_pk, image.pk])) == {image.pk}
    assert summary.summary_of(gone_pk)["text"] == "Not checked"


def test_it_puts_the_measures_in_words(world):
    values = {"sharpness": 0.4321, "brightness": 88.6, "glare": 0.051, "missing": 0.0, "extra": 1}
    assert summary.values_summary("gradability", values) == [
        ("Sharpness", "0.43"),
        ("Brightness", "89 of 255"),
        ("Glare", "5%"),
        ("Field of view missing", "0%"),
    ]
    assert summary.values_summary("laterality", {"predicted": "left", "confidence": 0.81}) == [
        ("Optic disc says", "left"),
        ("Confidence", "81%"),
    ]
    twin = {"hash": "8f3a", "detail": "ab" * 32, "candidates": 4, "distance": 12}
    assert summary.values_summary("near_duplicate", twin) == [
        ("Difference", "12 of 256 bits"),
        ("Images compared", "4"),
        ("Hash", "8f3a"),
    ]
    boxes = {"boxes": [[1, 2, 3, 4], [5, 6, 7, 8]], "count": 2, "characters": [9, 4]}
    assert summary.values_summary("burned_text", boxes) == [("Text boxes", "2")]
    other = {"distance": 3, "boxes": [[1, 2, 3, 4], [5, 6, 7, 8]], "score": 0.12345, "t": "x" * 61}
    assert summary.values_summary("vessels", other) == [
        ("Distance", "3"),
        ("Boxes", "2"),
        ("Score", "0.123"),
    ]
    assert summary.values_summary("gradability", {"sharpness": "odd"}) == [("Sharpness", "odd")]
    assert summary.values_summary("gradability", None) == []


def test_it_gives_the_viewer_every_result_with_its_version_values_and_a_visible_twin(world):
    twin = store_image(world, 1)
    hidden = store_image(world, 2, lab_unit=world.outpatients, user=world.bob)
    image = store_image(world, 3)
    add_result(image, "gradability", "good", version=3, values={"sharpness": 0.9}, milliseconds=41)
    add_result(image, "near_duplicate", "flag", "looks like an earlier image", True, twin=twin)
    got = summary.details_for(image, world.alice)
    assert [d["name"] for d in got] == ["gradability", "near_duplicate"]
    assert (got[0]["version"], got[0]["values"], got[0]["milliseconds"]) == (
        3,
        [("Sharpness", "0.90")],
        41,
    )
    assert got[0]["verdict_label"] == "Good" and got[1]["twin"] == twin
    image.checks.filter(name="near_duplicate").update(twin=hidden)
    assert summary.details_for(image, world.alice)[1]["twin"] is None


def test_the_badges_name_what_needs_a_look_and_say_all_clear_once(world):
    twin, flagged, clear, new = (
        store_image(world, 1),
        store_image(world, 2),
        store_image(world, 3),
        store_image(world, 4),
    )
    all_flagged(flagged, twin)
    all_clear(clear)
    found = summary.summaries_for([flagged.pk, clear.pk, new.pk], world.alice)
    html = render_to_string("checks/_badges.html", {"summary": found[flagged.pk]})
    assert "Looks blurred; too dark — recapture while the patient is here" in html
    assert f'href="/direct/images/{twin.pk}"' in html and "see the other image" in html
    assert 'class="badge check check-flag"' in html and "No problem found" not in html
    html = render_to_string("checks/_badges.html", {"summary": found[clear.pk]})
    assert "No problem found at capture" in html and "check-flag" not in html
    html = render_to_string("checks/_badges.html", {"summary": found[new.pk]})
    assert "Checking…" in html and 'role="status"' in html
    assert render_to_string("checks/_badges.html", {"summary": None}).strip() == ""

"""The dashboard's "Flagged at ingest" filter: images a check flagged that no one has answered yet
(possible patient text, ungradable, eye mislabelled, near-duplicate), in scope, at the same cost."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fundushub.checks.models import ImageCheck
from fundushub.library.dashboard import CHECK_FILTERS
from tests.library.test_dashboard_page import UPLOADER_QUERIES, card_ids, get, kpi, rows

VERDICT = {
    "burned_text": "flag",
    "gradability": "ungradable",
    "laterality": "flag",
    "near_duplicate": "flag",
}


def flagged(image, name="burned_text", **fields):
    fields = {"verdict": VERDICT[name], "flagged": True, **fields}
    return ImageCheck.objects.create(image=image, name=name, version=1, **fields)


@pytest.mark.parametrize("name", list(CHECK_FILTERS))
def test_each_choice_lists_the_images_that_check_flagged(client, world, name):
    hit, passed, other, unchecked = rows(world, 4)
    flagged(hit, name)
    flagged(passed, name, verdict="pass", flagged=False)
    flagged(other, next(n for n in CHECK_FILTERS if n != name))
    client.force_login(world.alice)
    response = get(client, f"?check={name}")
    assert card_ids(response) == [str(hit.pk)]
    assert kpi(response).total == 1


def test_possible_patient_text_leaves_out_what_someone_has_answered(client, world):
    waiting, answered = rows(world, 2)
    flagged(waiting)
    flagged(answered, reviewed_by=world.mary, reviewed_at=timezone.now())
    client.force_login(world.alice)
    assert card_ids(get(client, "?check=burned_text")) == [str(waiting.pk)]


def test_it_stays_inside_the_users_scope(client, world, same_hospital_other_unit_user):
    mine = rows(world, 1)[0]
    elsewhere = rows(world, 1, user="bob", lab_unit=world.outpatients)[0]
    next_door = rows(world, 1, user="mary", lab_unit=world.screening)[0]
    for image in (mine, elsewhere, next_door):
        flagged(image)
    client.force_login(world.alice)
    assert card_ids(get(client, "?check=burned_text")) == [str(mine.pk)]
    client.force_login(world.sam)
    assert card_ids(get(client, "?check=burned_text")) == [str(next_door.pk)]


def test_it_combines_with_the_other_filters_and_the_kpis_follow(client, world):
    dr, glaucoma = rows(world, 1)[0], rows(world, 1, disease=world.glaucoma)[0]
    old = rows(world, 1, when=timezone.now() - timedelta(days=400))[0]
    for image in (dr, glaucoma, old):
        flagged(image)
    client.force_login(world.alice)
    response = get(client, f"?check=burned_text&disease={world.dr.pk}")
    assert set(card_ids(response)) == {str(dr.pk), str(old.pk)}
    assert kpi(response).total == 2
    since = (timezone.localdate() - timedelta(days=30)).isoformat()
    response = get(client, f"?check=burned_text&date_from={since}")
    assert set(card_ids(response)) == {str(dr.pk), str(glaucoma.pk)}
    assert kpi(response).total == 2  # counted from the images, not the image counts


def test_an_unknown_choice_is_named_and_ignored(client, world):
    rows(world, 2)
    client.force_login(world.alice)
    response = get(client, "?check=everything")
    assert len(card_ids(response)) == 2
    assert (
        "Flagged at ingest: “everything” is not valid (choose one from the list); it was ignored."
        in response.content.decode()
    )


def test_the_form_offers_the_choices_and_keeps_the_chosen_one(client, world):
    client.force_login(world.alice)
    text = get(client, "?check=near_duplicate").content.decode()
    assert '<label for="f-check">Flagged at ingest</label>' in text
    assert '<option value="">Any image</option>' in text
    for value, label in CHECK_FILTERS.items():
        selected = " selected" if value == "near_duplicate" else ""
        assert f'<option value="{value}"{selected}>{label}</option>' in text


def test_pages_and_the_export_keep_the_filter(client, world):
    images = rows(world, 30)
    for image in images[:26]:
        flagged(image, "gradability")
    client.force_login(world.alice)
    response = get(client, "?check=gradability&per_page=24")
    older = response.context["links"]["older"]
    assert "check=gradability" in older
    assert len(card_ids(get(client, older))) == 2
    assert "check=gradability" in response.context["links"]["export"]


def test_the_export_takes_only_the_flagged_images(client, world):
    hit, miss = rows(world, 2)
    flagged(hit, "laterality")
    client.force_login(world.alice)
    body = b"".join(client.get("/direct/dashboard/export.csv?check=laterality").streaming_content)
    assert hit.original_filename.encode() in body
    assert miss.original_filename.encode() not in body


def test_the_filter_adds_no_query(client, world, django_assert_num_queries):
    for image in rows(world, 5):
        flagged(image)
    client.force_login(world.alice)
    with django_assert_num_queries(UPLOADER_QUERIES):
        get(client, "?check=burned_text")

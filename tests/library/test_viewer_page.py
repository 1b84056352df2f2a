"""The viewer page: the image, its details, grades and history, and what each role may do there."""

import json

import pytest

from fundushub.audit.models import record
from fundushub.grading.grades import record_grade
from fundushub.library import variants
from fundushub.store.models import GradingStatus, Image
from tests.checks.results import add_result, all_clear, all_flagged, four_checks  # noqa: F401
from tests.conftest import store_image

LOCKED = "Editing is not allowed for pre-graded or graded images"


def page(client, image, query=""):
    return client.get(f"/direct/images/{image.id}{query}")


def html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_the_image_through_the_display_view_with_zoom_controls(client, world):
    image = store_image(world, 1)
    client.force_login(world.alice)
    text = html(page(client, image))
    assert f'src="/images/{image.id}/view"' in text
    assert 'id="viewer-frame"' in text and "fundushub/viewer.js" in text
    for label in ('aria-label="Zoom in"', 'aria-label="Zoom out"', ">Fit<", ">100%<"):
        assert label in text


def test_it_shows_every_detail_of_the_image(client, world):
    image = store_image(world, 2, mydriatic=True, camera=world.canon)
    client.force_login(world.alice)
    text = html(page(client, image))
    for value in (
        "fundus-2.jpg",
        "St Lucia",
        "Retina",
        "Canon CR-2",
        "DR",
        "Left eye",
        "Mydriatic",
        "Direct upload",
        "alice",
        "640 × 480 px",
        f"({image.size} bytes)",
        image.md5,
        image.sha256,
    ):
        assert value in text, value


def test_a_camera_image_shows_its_eye_and_subject(client, world):
    image = store_image(world, 3, source="camera", subject_identifier="SUBJ-0042", area=world.right)
    client.force_login(world.mary)
    text = html(page(client, image))
    assert "<dt>Eye</dt><dd>Right eye</dd>" in text
    assert "<dt>Subject</dt><dd>SUBJ-0042</dd>" in text


def test_the_original_edited_toggle_appears_only_when_there_is_an_edit(client, world):
    image = store_image(world, 4)
    client.force_login(world.alice)
    assert "version-toggle" not in html(page(client, image))
    variants.save_edit(image, json.dumps({"rotate": 90}).encode(), world.alice)
    text = html(page(client, image))
    # Without JavaScript the toggle is two links.
    assert f'href="/direct/images/{image.id}?variant=edited"' in text
    assert f'href="/direct/images/{image.id}?variant=original"' in text
    edited = html(page(client, image, "?variant=edited"))
    assert f'src="/images/{image.id}/view?variant=edited"' in edited
    assert f'href="/images/{image.id}/download?variant=edited"' in edited


def test_asking_for_the_edited_version_of_an_unedited_image_shows_the_original(client, world):
    image = store_image(world, 5)
    client.force_login(world.alice)
    assert f'src="/images/{image.id}/view"' in html(page(client, image, "?variant=edited"))


def test_the_grade_history_lists_every_revision(client, world):
    image = store_image(world, 6)
    record_grade(image, "R1", "small haemorrhage", world.gina)
    record_grade(image, "R3", "", world.gina)
    client.force_login(world.alice)
    text = html(page(client, image))
    assert "2 revisions" in text
    assert "R1</strong> – Mild non-proliferative" in text
    assert "R3</strong> – Severe non-proliferative" in text
    assert "small haemorrhage" in text
    assert text.index("R3</strong>") < text.index("R1</strong>")  # newest first
    assert "badge-graded" in text


def test_the_audit_history_is_shown_newest_first_in_words(client, world):
    image = store_image(world, 7)
    record("image.stored", user=world.alice, obj=image, filename="fundus-7.jpg")
    record(
        "image.metadata_changed",
        user=world.mary,
        obj=image,
        before={"camera": {"id": 1, "name": "Topcon TRC-NW400"}, "mydriatic": False},
        after={"camera": {"id": 2, "name": "Canon CR-2"}, "mydriatic": True},
    )
    record_grade(image, "R2", "", world.gina)
    client.force_login(world.alice)
    text = html(page(client, image))
    assert "camera: Topcon TRC-NW400 → Canon CR-2; mydriatic: no → yes" in text
    assert "R2 (Moderate non-proliferative), revision 1" in text
    assert (
        text.index("<td>Graded</td>")
        < text.index("<td>Details changed</td>")
        < text.index("<td>Uploaded</td>")
    )


def test_another_images_history_is_not_shown(client, world):
    image, other = store_image(world, 8), store_image(world, 9)
    record("image.metadata_changed", user=world.mary, obj=other, before={"x": 1}, after={"x": 2})
    client.force_login(world.alice)
    assert "No recorded events for this image yet." in html(page(client, image))


def test_an_uploader_of_the_image_may_edit_download_and_delete_but_not_fetch_the_original(
    client, world
):
    image = store_image(world, 10)
    client.force_login(world.alice)
    text = html(page(client, image))
    assert f'href="/direct/images/{image.id}/edit?next=' in text
    assert f'href="/direct/images/{image.id}/editor?next=' in text
    assert f'href="/images/{image.id}/download"' in text
    assert f"/images/{image.id}/original" not in text
    assert 'action="/direct/images/bulk"' in text and 'name="action" value="delete"' in text
    assert f'name="images" value="{image.id}"' in text
    assert 'name="grade"' not in text  # not a grader


def test_a_data_manager_also_gets_the_original(client, world):
    image = store_image(world, 11)
    client.force_login(world.mary)
    assert f'href="/images/{image.id}/original"' in html(page(client, image))


def test_a_grader_gets_the_grade_form_with_the_diseases_scale_but_no_edit_or_delete(client, world):
    image = store_image(world, 12, disease=world.glaucoma)
    client.force_login(world.gina)
    text = html(page(client, image))
    assert f'action="/direct/images/{image.id}/grade"' in text
    for code in ("G0", "G1", "G2", "U"):
        assert f'<option value="{code}">' in text
    assert 'value="R0"' not in text
    assert "/edit?next" not in text and "/editor?next" not in text
    assert "/direct/images/bulk" not in text
    assert f"/images/{image.id}/original" not in text


def test_a_colleague_who_did_not_upload_it_sees_it_without_edit_actions(client, world):
    image = store_image(world, 13, user=world.mary)
    client.force_login(world.alice)
    text = html(page(client, image))
    assert "/edit?next" not in text and "/direct/images/bulk" not in text


@pytest.mark.parametrize("status", [GradingStatus.PRE_GRADED, GradingStatus.GRADED])
def test_edit_image_is_disabled_with_the_reason_once_the_image_is_graded(client, world, status):
    image = store_image(world, 14, grading_status=status)
    client.force_login(world.alice)
    text = html(page(client, image))
    assert "/editor?next" not in text
    assert "disabled" in text and LOCKED in text
    assert f'href="/direct/images/{image.id}/edit?next=' in text  # details may still change


def test_a_pre_graded_image_without_grades_says_so(client, world):
    image = store_image(world, 15, grading_status=GradingStatus.PRE_GRADED)
    client.force_login(world.gina)
    text = html(page(client, image))
    assert "badge-pre_graded" in text and "Pre-graded at upload" in text


@pytest.mark.parametrize("who", ["bob", "root", "sam"])
@pytest.mark.usefixtures("same_hospital_other_unit_user")
def test_outside_your_scope_the_page_is_a_404(client, world, who):
    image = store_image(world, 16)
    client.force_login(getattr(world, who))
    assert page(client, image).status_code == 404


def test_anonymous_users_are_sent_to_sign_in(client, world):
    image = store_image(world, 17)
    response = page(client, image)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_page_takes_a_fixed_number_of_queries(client, world, django_assert_max_num_queries):
    image = store_image(world, 18)
    all_flagged(image, store_image(world, 118))  # the checks and their twin: two queries
    for code in ("R0", "R1", "R2"):
        record_grade(Image.objects.get(pk=image.pk), code, "", world.gina)
    client.force_login(world.mary)
    with django_assert_max_num_queries(14):
        html(page(client, image))


def test_the_delete_button_leads_to_the_bulk_delete_confirmation(client, world):
    image = store_image(world, 19)
    client.force_login(world.alice)
    response = client.post(
        "/direct/images/bulk",
        {"images": str(image.id), "action": "delete", "next": "/direct/dashboard"},
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert 'name="confirm"' in text and str(image.id) in text
    assert Image.objects.filter(pk=image.pk).exists()  # nothing deleted without confirming


# Moving through the set the viewer was opened from (issue 11, C18) ------------------------


def test_back_returns_to_the_dashboard_with_its_filters_and_page(client, world):
    image = store_image(world, 20)
    client.force_login(world.alice)
    text = html(
        page(client, image, f"?disease={world.dr.pk}&per_page=24&cursor=abc&variant=edited")
    )
    back = f"/direct/dashboard?disease={world.dr.pk}&amp;per_page=24&amp;cursor=abc"
    assert f'<a href="{back}" id="back-link">Back to Images</a>' in text
    # Delete from here returns there too.
    assert f'name="next" value="{back}"' in text


def test_previous_and_next_step_through_the_filtered_set_newest_first(client, world):
    a = store_image(world, 21, disease=world.glaucoma)
    store_image(world, 22)  # DR: not in the set
    b = store_image(world, 23, disease=world.glaucoma)
    c = store_image(world, 24, disease=world.glaucoma)
    client.force_login(world.alice)
    q = f"?disease={world.glaucoma.pk}"
    text = html(page(client, b, q))
    assert f'id="previous-image" rel="prev" href="/direct/images/{c.id}{q}"' in text
    assert f'id="next-image" rel="next" href="/direct/images/{a.id}{q}"' in text
    newest = html(page(client, c, q))
    assert (
        'id="previous-image"' not in newest
        and '<span class="btn btn-small" aria-disabled="true">‹ Previous</span>' in newest
    )
    assert f'id="next-image" rel="next" href="/direct/images/{b.id}{q}"' in newest


def test_the_keys_for_previous_and_next_are_on_the_page(client, world):
    older, newer = store_image(world, 25), store_image(world, 26)
    client.force_login(world.alice)
    text = html(page(client, older))
    assert 'aria-keyshortcuts="["' in text
    assert "<kbd>[</kbd> previous, <kbd>]</kbd> next image" in text
    assert f'href="/direct/images/{newer.id}"' in text  # no filters: every image in scope


def test_opened_from_the_dashboard_showing_edits_it_shows_the_edit(client, world):
    image = store_image(world, 27)
    variants.save_edit(image, json.dumps({"rotate": 90}).encode(), world.alice)
    client.force_login(world.alice)
    text = html(page(client, image, "?show=edited"))
    assert f'id="viewer-image" src="/images/{image.id}/view?variant=edited"' in text
    text = html(page(client, image, "?show=edited&variant=original"))
    assert f'id="viewer-image" src="/images/{image.id}/view"' in text


def test_it_links_to_the_images_examination_for_those_who_see_it(client, world):
    from tests.conftest import examination_of

    exam = examination_of(world, 90)
    image = exam.image_links.first().image
    client.force_login(world.alice)
    assert f'href="/examinations/{exam.pk}" id="examination-link"' in html(page(client, image))
    # An uploader sees her own image outside her lab units, but not that unit's examination.
    world.alice.lab_units.clear()
    assert "examination-link" not in html(page(client, image))


# --- checks at capture (issue 15) ---


def checks_panel(text) -> str:
    start = text.index('id="checks"')
    return text[start : text.index("</section>", start)]


def test_it_shows_each_checks_verdict_reason_measures_and_version(client, world, four_checks):  # noqa: F811
    image = store_image(world, 1)
    add_result(
        image,
        "gradability",
        "usable",
        "a little blurred",
        version=2,
        values={"sharpness": 0.351, "brightness": 61.2, "glare": 0.02},
        milliseconds=38,
    )
    add_result(
        image,
        "laterality",
        "flag",
        "eye may be mislabelled: the optic disc is on the right, as in a right eye",
        True,
        values={"declared": "left", "predicted": "right", "confidence": 0.74},
    )
    client.force_login(world.alice)
    panel = checks_panel(html(page(client, image)))
    assert "Checks at capture" in panel and "Checking…" in panel  # two checks still to come
    gradability = panel[
        panel.index('id="check-gradability"') : panel.index('id="check-laterality"')
    ]
    for shown in (
        "Gradability",
        ">Usable<",
        "Usable: a little blurred",
        "<dt>Sharpness</dt><dd>0.35</dd>",
        "<dt>Brightness</dt><dd>61 of 255</dd>",
        "<dt>Glare</dt><dd>2%</dd>",
        "Version 2",
        "38 ms",
    ):
        assert shown in gradability, shown
    for shown in (
        ">Flagged for review<",
        "Eye may be mislabelled",
        "Eye may be mislabelled: the optic disc is on the right, as in a right eye",
        "<dt>Declared eye</dt><dd>left</dd>",
        "<dt>Optic disc says</dt><dd>right</dd>",
        "<dt>Confidence</dt><dd>74%</dd>",
    ):
        assert shown in panel, shown


@pytest.mark.usefixtures("four_checks")
def test_it_shows_the_twin_with_a_link_only_to_a_reader_who_may_see_it(client, world):
    twin = store_image(world, 1, lab_unit=world.screening, user=world.mary)
    image = store_image(world, 2)
    all_flagged(image, twin)
    client.force_login(world.mary)
    panel = checks_panel(html(page(client, image)))
    assert f'href="/direct/images/{twin.pk}" id="twin-link"' in panel
    assert f'src="/images/{twin.pk}/thumbnail"' in panel and "Open the other image" in panel
    client.force_login(world.alice)  # Screening is not hers
    panel = checks_panel(html(page(client, image)))
    assert str(twin.pk) not in panel and "The other image is not in your lab units." in panel


@pytest.mark.usefixtures("four_checks")
def test_burned_text_offers_the_mask_review_to_those_who_may_edit(client, world):
    image = store_image(world, 1)
    add_result(image, "burned_text", "flag", "possible patient data", True)
    client.force_login(world.alice)  # her own upload
    panel = checks_panel(html(page(client, image)))
    assert "Possible patient text — not yet reviewed" in panel
    assert f'id="review-masks" href="/direct/images/{image.pk}/editor?next=' in panel
    client.force_login(world.gina)  # a grader sees the flag, not the editor
    panel = checks_panel(html(page(client, image)))
    assert "Possible patient text" in panel and "review-masks" not in panel
    Image.objects.filter(pk=image.pk).update(grading_status=GradingStatus.GRADED)
    client.force_login(world.mary)
    panel = checks_panel(html(page(client, image)))
    assert "review-masks" not in panel and "masks cannot be placed here" in panel


@pytest.mark.usefixtures("four_checks")
def test_an_image_all_checks_passed_says_so_and_an_old_unchecked_one_says_not_checked(
    client, world
):
    from datetime import timedelta

    from django.utils import timezone

    image, old = store_image(world, 1), store_image(world, 2)
    all_clear(image)
    Image.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    client.force_login(world.alice)
    panel = checks_panel(html(page(client, image)))
    assert "Looks gradable" in panel and "No burned-in text" in panel and "Checking" not in panel
    panel = checks_panel(html(page(client, old)))
    assert "This image was not checked at capture." in panel

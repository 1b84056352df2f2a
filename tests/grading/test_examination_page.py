"""The examination page: both eyes side by side at full quality, every image, the camera's reports,
gradings (blind while a second grading is awaited), grade revisions and history; scoped."""

import pytest

from fundushub.grading import reports, workflow
from fundushub.grading.models import Examination
from fundushub.grading.reports import Report, register
from tests.checks.results import add_result, all_clear, all_flagged, four_checks  # noqa: F401
from tests.conftest import examination_of


def dr(right="R0", left="R0", m="M0", p="P0"):
    return {"right": {"R": right, "M": m, "P": p}, "left": {"R": left, "M": m, "P": p}}


def fresh(exam):
    return Examination.objects.get(pk=exam.pk)


def no_second(exam):
    exam.programme.qa_sample_percent = 0
    exam.programme.save()
    return exam


def html(client, exam, status=200) -> str:
    response = client.get(f"/examinations/{exam.pk}")
    assert response.status_code == status, response.content[:500]
    return response.content.decode()


def test_it_shows_the_subject_visit_unit_programme_and_stage(client, graders):
    exam = examination_of(graders, 1)
    client.force_login(graders.gina)
    text = html(client, exam)
    for value in (
        "105-10-0989-3",
        exam.visit_date.isoformat(),
        "St Lucia",
        "Retina",
        exam.programme.name,
        "badge-stage-primary",
        "Awaiting first grading",
    ):
        assert value in text, value


def test_both_eyes_are_shown_side_by_side_at_full_quality_with_linked_zoom(client, graders):
    exam = examination_of(graders, 2)
    right, left = (exam.image_links.get(image__area__code=eye).image for eye in ("right", "left"))
    client.force_login(graders.gina)
    text = html(client, exam)
    # The display view: the original's pixels, without embedded metadata; right eye first.
    assert text.index(f'src="/images/{right.pk}/view"') < text.index(
        f'src="/images/{left.pk}/view"'
    )
    assert 'id="pair-frame-right"' in text and 'id="pair-frame-left"' in text
    assert 'id="pair-link" checked' in text and "fundushub/exam-viewer.js" in text
    for label in ('aria-label="Zoom in"', 'aria-label="Zoom out"', ">Fit<", ">100%<"):
        assert label in text


def test_a_missing_eye_says_so_in_its_frame(client, graders):
    exam = examination_of(graders, 3, eyes=("left",))
    client.force_login(graders.gina)
    text = html(client, exam)
    assert "No right eye image in this examination." in text
    assert 'id="pair-frame-left"' in text and 'id="pair-frame-right"' not in text


def test_every_image_is_listed_with_a_link_to_the_viewer_and_unknown_eyes_are_marked(
    client, graders
):
    exam = examination_of(graders, 4, eyes=("right", "left", None))
    client.force_login(graders.gina)
    text = html(client, exam)
    for link in exam.image_links.all():
        assert f'href="/direct/images/{link.image_id}"' in text
        assert f'src="/images/{link.image_id}/thumbnail"' in text
    assert text.count("badge-eye-unknown") == 1 and "Eye unknown" in text


def test_the_cameras_reports_are_listed_from_the_registry(client, graders, monkeypatch):
    exam = examination_of(graders, 5)
    monkeypatch.setattr(reports, "_answers", [])
    register(
        lambda e: [Report("Report (both eyes)", "/camera/reports/7", "r.pdf")] if e == exam else []
    )
    client.force_login(graders.gina)
    text = html(client, exam)
    assert 'href="/camera/reports/7"' in text and "Report (both eyes)" in text
    other = examination_of(graders, 6, subject="OTHER-1")
    assert "No report was sent with these images." in html(client, other)


def test_a_decided_examination_shows_its_outcome_rule_decider_and_grades(client, graders):
    exam = no_second(examination_of(graders, 7))
    workflow.record_grading(graders.gina, exam, dr("R1", "R0"), notes="small haemorrhage")
    client.force_login(graders.alice)
    text = html(client, fresh(exam))
    assert "badge-stage-done" in text and "Routine recall in 12 months" in text
    assert "otherwise → Routine recall in 12 months" in text  # the rule that fired
    assert "Single grading: no second grading required" in text
    assert "<dd>gina, " in text  # who decided
    assert '<abbr title="Retinopathy: Background">R1</abbr>' in text
    assert "small haemorrhage" in text
    assert "First grading" in text and "badge-final" in text
    assert f'href="/examinations/{exam.pk}/letter"' in text


def test_the_per_image_grade_revisions_are_listed(client, graders):
    exam = no_second(examination_of(graders, 8))
    workflow.record_grading(graders.gina, exam, dr("R1", "R0"))
    client.force_login(graders.gina)
    text = html(client, fresh(exam))
    assert "R1 M0 P0" in text and "R0 M0 P0" in text


def test_the_history_shows_the_examinations_audit_events(client, graders):
    exam = no_second(examination_of(graders, 9))
    workflow.record_grading(graders.gina, exam, dr())
    client.force_login(graders.gina)
    text = html(client, fresh(exam))
    assert '"What">Graded</td>' in text and '"What">Outcome decided</td>' in text
    assert "Routine recall in 24 months" in text


def referred(graders, seed):
    """An examination whose first grading (by gina) refers it: a blind second grading is due."""
    exam = no_second(examination_of(graders, seed))
    workflow.record_grading(graders.gina, exam, dr("R2", "R0"), notes="IRMA seen")
    return fresh(exam)


def test_a_possible_second_grader_does_not_see_the_first_gradings_values(client, graders):
    exam = referred(graders, 10)
    client.force_login(graders.greg)
    text = html(client, exam)
    assert "Awaiting second grading" in text
    assert "Hidden until the second grading is recorded." in text
    assert "the first grading’s values and outcome are hidden" in text
    for leak in ("R2", "Refer to the eye clinic", "IRMA seen"):
        assert leak not in text, leak


@pytest.mark.parametrize("who", ["sophie", "mary"])
def test_senior_graders_and_data_managers_see_the_first_grading_before_the_second(
    client, graders, who
):
    exam = referred(graders, 11)
    client.force_login(getattr(graders, who))
    text = html(client, exam)
    assert "Hidden until" not in text
    assert "R2" in text and "Refer to the eye clinic: soon" in text and "IRMA seen" in text


def test_after_the_second_grading_everyone_sees_both(client, graders):
    exam = referred(graders, 12)
    workflow.record_grading(graders.greg, exam, dr("R2", "R1"))
    client.force_login(graders.greg)
    text = html(client, fresh(exam))
    assert "Hidden until" not in text and "IRMA seen" in text


def test_arbitration_shows_what_the_graders_disagree_on(client, graders):
    exam = referred(graders, 13)
    workflow.record_grading(graders.greg, exam, dr("R0", "R0"))
    client.force_login(graders.sophie)
    text = html(client, fresh(exam))
    assert "Awaiting arbitration" in text and "the graders disagree" in text
    assert (
        "Outcome: first grader Refer to the eye clinic: soon, "
        "second grader Routine recall in 24 months" in text
    )


def test_an_examination_of_another_lab_unit_in_the_same_hospital_is_404(
    client, graders, same_hospital_other_unit_user
):
    exam = examination_of(graders, 14)
    client.force_login(same_hospital_other_unit_user)
    html(client, exam, status=404)


def test_an_examination_of_another_hospital_is_404(client, graders):
    exam = examination_of(graders, 15)
    client.force_login(graders.bob)
    html(client, exam, status=404)


def test_an_unknown_examination_is_404(client, graders):
    client.force_login(graders.gina)
    assert client.get("/examinations/00000000-0000-0000-0000-000000000000").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, graders):
    exam = examination_of(graders, 16)
    response = client.get(f"/examinations/{exam.pk}")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_only_get_is_allowed(client, graders):
    exam = examination_of(graders, 17)
    client.force_login(graders.gina)
    assert client.post(f"/examinations/{exam.pk}").status_code == 405


def queries(client, exam) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        html(client, fresh(exam))
    return [q["sql"] for q in captured]


def test_the_page_costs_the_same_number_of_queries_for_2_or_10_images_and_gradings(client, graders):
    small = no_second(examination_of(graders, 18, subject="Q-1"))
    workflow.record_grading(graders.gina, small, dr())
    big = examination_of(graders, 19, subject="Q-2", eyes=("right", "left") * 4 + (None, None))
    workflow.record_grading(graders.gina, big, dr())
    for n in range(9):  # more gradings: revisions by a senior grader
        workflow.revise(graders.sophie, fresh(big), dr(f"R{n % 2}"), f"look {n}")
    assert big.image_links.count() == 10 and big.gradings.count() == 10
    images = [link.image for link in big.image_links.all()]
    for image in images[:5]:  # and every image's checks, some with a twin
        all_flagged(image, images[9])
    client.force_login(graders.gina)
    html(client, small)  # warm up what is read once per process
    assert len(queries(client, small)) == len(queries(client, big))


def test_the_page_with_move_forms_costs_the_same_for_2_or_10_images(client, graders):
    small = examination_of(graders, 20, subject="Q-3")
    big = examination_of(graders, 21, subject="Q-4", eyes=("right", "left") * 4 + (None, None))
    client.force_login(graders.mary)
    html(client, small)
    assert len(queries(client, small)) == len(queries(client, big))


def test_a_grader_who_may_grade_it_now_is_offered_the_grading_page(client, graders):
    exam = examination_of(graders, 30)
    client.force_login(graders.gina)
    assert f'href="/grading/examinations/{exam.pk}/grade">Grade</a>' in html(client, exam)
    for user in (graders.mary, graders.alice):  # no graders
        client.force_login(user)
        assert "/grade" not in html(client, exam)


def test_the_first_grader_is_not_offered_the_second_grading(client, graders):
    exam = referred(graders, 31)
    client.force_login(graders.gina)
    assert "/grade" not in html(client, exam)
    client.force_login(graders.greg)
    assert f'href="/grading/examinations/{exam.pk}/grade">Grade</a>' in html(client, exam)


def test_a_senior_grader_is_offered_a_revision_of_a_decided_outcome(client, graders):
    exam = no_second(examination_of(graders, 32))
    workflow.record_grading(graders.gina, exam, dr())
    client.force_login(graders.sophie)
    assert ">Revise the outcome</a>" in html(client, fresh(exam))
    client.force_login(graders.greg)
    assert "/grade" not in html(client, fresh(exam))


# --- checks at capture (issue 15) ---


def image_item(text, image) -> str:
    """The Images list's entry of one image."""
    start = text.index(f'<a href="/direct/images/{image.pk}" class="thumb-link">')
    return text[start : text.index("</li>", start)]


@pytest.mark.usefixtures("four_checks")
def test_each_image_shows_what_its_checks_found(client, graders):
    from datetime import timedelta

    from django.utils import timezone

    from fundushub.store.models import Image

    exam = examination_of(graders, 40, eyes=("right", "left", None))
    right, left, unknown = (link.image for link in exam.image_links.order_by("image__created_at"))
    add_result(right, "gradability", "ungradable", "too dark", True)
    add_result(right, "laterality", "flag", "eye may be mislabelled: the disc is on the left", True)
    add_result(right, "near_duplicate", "pass")
    add_result(right, "burned_text", "pass")
    all_clear(left)
    Image.objects.filter(pk=unknown.pk).update(created_at=timezone.now() - timedelta(days=2))
    client.force_login(graders.gina)
    text = html(client, exam)
    right_item, left_item = image_item(text, right), image_item(text, left)
    assert "Too dark — recapture while the patient is here" in right_item
    assert "Eye may be mislabelled" in right_item and "No problem found" not in right_item
    assert "No problem found at capture" in left_item and "check-flag" not in left_item
    assert "Not checked" in image_item(text, unknown)


@pytest.mark.usefixtures("four_checks")
def test_a_twin_outside_the_readers_lab_units_is_not_linked(client, graders):
    from tests.conftest import store_image

    exam = examination_of(graders, 41, eyes=("right",))
    (image,) = (link.image for link in exam.image_links.all())
    elsewhere = store_image(graders, 977, lab_unit=graders.screening, user=graders.mary)
    add_result(image, "near_duplicate", "flag", "looks like an earlier image", True, twin=elsewhere)
    client.force_login(graders.gina)  # Retina only
    item = image_item(html(client, exam), image)
    assert "Looks like another image" in item and str(elsewhere.pk) not in item
    client.force_login(graders.mary)  # Retina and Screening
    assert f'href="/direct/images/{elsewhere.pk}"' in image_item(html(client, exam), image)

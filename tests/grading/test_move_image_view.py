"""Staff move an image to another examination from the examination page (POST, CSRF, audited);
errors are shown plainly; an examination left empty and ungraded is removed."""

from django.test import Client

from fundushub.audit.models import AuditEvent
from fundushub.grading import workflow
from fundushub.grading.models import Examination, ExaminationImage
from tests.conftest import examination_of


def url(exam, image) -> str:
    return f"/examinations/{exam.pk}/images/{image.pk}/move"


def image_of(exam, eye="right"):
    return exam.image_links.get(image__area__code=eye).image


def exam_of(image) -> Examination:
    return ExaminationImage.objects.get(image=image).examination


def test_data_managers_see_a_move_form_per_image_listing_the_candidates(client, graders):
    exam = examination_of(graders, 1)
    same_day = examination_of(graders, 3, subject="OTHER-7")
    client.force_login(graders.mary)
    text = client.get(f"/examinations/{exam.pk}").content.decode()
    assert text.count('name="to"') == 2 and "A new examination (on its own)" in text
    assert f'value="{same_day.pk}"' in text and "OTHER-7" in text
    assert f'action="{url(exam, image_of(exam))}"' in text


def test_graders_and_uploaders_get_no_move_form(client, graders):
    exam = examination_of(graders, 4)
    for user in (graders.gina, graders.alice):
        client.force_login(user)
        assert 'name="to"' not in client.get(f"/examinations/{exam.pk}").content.decode()


def test_an_image_moves_to_another_examination_and_the_move_is_audited(client, graders):
    exam = examination_of(graders, 5)
    target = examination_of(graders, 6, subject="OTHER-8", eyes=("left",))
    image = image_of(exam)
    client.force_login(graders.mary)
    response = client.post(url(exam, image), {"to": str(target.pk)})
    assert response.status_code == 302 and response["Location"] == f"/examinations/{exam.pk}"
    assert exam_of(image) == target
    event = AuditEvent.objects.get(action="examination.image_moved")
    assert (event.user, event.object_id) == (graders.mary, str(image.pk))
    assert event.data["after"] == {"examination": str(target.pk)}
    page = client.get(response["Location"]).content.decode()
    assert "Image moved to the examination of OTHER-8" in page
    assert "out to another examination" in page  # in the source's history
    assert (
        "in from another examination" in client.get(f"/examinations/{target.pk}").content.decode()
    )


def test_an_image_moves_to_a_new_examination_of_its_own(client, graders):
    exam = examination_of(graders, 7)
    image = image_of(exam)
    client.force_login(graders.mary)
    client.post(url(exam, image), {"to": "new"})
    moved = exam_of(image)
    assert moved != exam and moved.group_key.startswith("manual:")
    assert (moved.subject_identifier, moved.visit_date) == (
        exam.subject_identifier,
        exam.visit_date,
    )


def test_the_examination_left_empty_and_ungraded_is_removed_and_the_page_follows_the_image(
    client, graders
):
    lone = examination_of(graders, 8, subject="", eyes=("right",))
    target = examination_of(graders, 9, subject="SUBJ-9", eyes=("left",))
    image = image_of(lone)
    client.force_login(graders.mary)
    response = client.post(url(lone, image), {"to": str(target.pk)})
    assert response["Location"] == f"/examinations/{target.pk}"
    assert not Examination.objects.filter(pk=lone.pk).exists()
    assert AuditEvent.objects.filter(action="examination.removed_empty", object_id=str(lone.pk))


def test_a_graded_examination_left_empty_stays(client, graders):
    exam = examination_of(graders, 10, eyes=("right",))
    exam.programme.second_all = True
    exam.programme.save()
    workflow.record_grading(graders.gina, exam, {"right": {"R": "R0", "M": "M0", "P": "P0"},
                                                 "left": {"R": "R0", "M": "M0", "P": "P0"}})  # fmt: skip
    client.force_login(graders.mary)
    client.post(url(exam, image_of(exam)), {"to": "new"})
    assert Examination.objects.filter(pk=exam.pk).exists()


def test_a_decided_examinations_images_stay_and_the_page_says_why(client, graders):
    exam = examination_of(graders, 11)
    exam.programme.qa_sample_percent = 0
    exam.programme.save()
    workflow.record_grading(graders.gina, exam, {"right": {"R": "R0", "M": "M0", "P": "P0"},
                                                 "left": {"R": "R0", "M": "M0", "P": "P0"}})  # fmt: skip
    client.force_login(graders.mary)
    response = client.post(url(exam, image_of(exam)), {"to": "new"})
    assert response.status_code == 400
    assert "outcome is decided; its images stay with it" in response.content.decode()
    assert exam_of(image_of(exam)) == exam


def test_a_decided_target_is_refused_plainly(client, graders):
    exam = examination_of(graders, 12)
    target = examination_of(graders, 13, subject="DONE-1")
    target.programme.qa_sample_percent = 0
    target.programme.save()
    workflow.record_grading(graders.gina, target, {"right": {"R": "R0", "M": "M0", "P": "P0"},
                                                   "left": {"R": "R0", "M": "M0", "P": "P0"}})  # fmt: skip
    client.force_login(graders.mary)
    response = client.post(url(exam, image_of(exam)), {"to": str(target.pk)})
    assert response.status_code == 400
    text = response.content.decode()
    assert "The chosen examination&#x27;s outcome is decided; it takes no more images." in text
    assert 'role="alert"' in text and " open>" in text  # the form it came from, opened


def test_moving_into_the_same_examination_is_refused(client, graders):
    exam = examination_of(graders, 14)
    client.force_login(graders.mary)
    response = client.post(url(exam, image_of(exam)), {"to": str(exam.pk)})
    assert response.status_code == 400
    assert "already in this examination" in response.content.decode()


def test_a_target_the_user_does_not_see_or_that_is_malformed_is_refused_as_unknown(client, graders):
    exam = examination_of(graders, 15)
    elsewhere = examination_of(graders, 16, lab_unit=graders.outpatients, user=graders.bob)
    client.force_login(graders.mary)
    for choice in (str(elsewhere.pk), "not-a-uuid", ""):
        response = client.post(url(exam, image_of(exam)), {"to": choice})
        assert response.status_code == 400
        assert "Choose an examination from the list" in response.content.decode()
    assert exam_of(image_of(exam)) == exam


def test_another_hospitals_examination_is_refused_even_when_visible(client, graders):
    exam = examination_of(graders, 17)
    elsewhere = examination_of(graders, 18, lab_unit=graders.outpatients, user=graders.bob)
    graders.mary.lab_units.add(graders.outpatients)
    client.force_login(graders.mary)
    response = client.post(url(exam, image_of(exam)), {"to": str(elsewhere.pk)})
    assert response.status_code == 400
    assert "only move to an examination of its own hospital" in response.content.decode()


def test_graders_may_not_move_images(client, graders):
    exam = examination_of(graders, 19)
    client.force_login(graders.gina)
    assert client.post(url(exam, image_of(exam)), {"to": "new"}).status_code == 403
    assert exam_of(image_of(exam)) == exam


def test_an_image_of_another_examination_is_404(client, graders):
    exam = examination_of(graders, 20)
    other = examination_of(graders, 21, subject="OTHER-21")
    client.force_login(graders.mary)
    assert client.post(url(exam, image_of(other)), {"to": "new"}).status_code == 404


def test_an_examination_outside_the_users_lab_units_is_404(
    client, graders, same_hospital_other_unit_user
):
    exam = examination_of(graders, 22)
    client.force_login(same_hospital_other_unit_user)
    assert client.post(url(exam, image_of(exam)), {"to": "new"}).status_code == 404


def test_get_is_not_allowed(client, graders):
    exam = examination_of(graders, 23)
    client.force_login(graders.mary)
    assert client.get(url(exam, image_of(exam))).status_code == 405


def test_a_post_without_the_csrf_token_is_refused(graders):
    exam = examination_of(graders, 24)
    client = Client(enforce_csrf_checks=True)
    client.force_login(graders.mary)
    assert client.post(url(exam, image_of(exam)), {"to": "new"}).status_code == 403
    assert exam_of(image_of(exam)) == exam

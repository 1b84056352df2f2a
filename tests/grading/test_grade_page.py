"""GET/POST /grading/examinations/<id>/grade: claimed on open, both eyes with the scheme's form,
save (and next), a blind second grading, errors that keep what was typed."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fundushub.grading import workflow
from fundushub.grading.models import ExamGrading, Examination, Role, Stage
from tests.conftest import examination_of
from tests.grading.pages import dr, dr_programme, fields, fresh, grade_url, waited


@pytest.fixture
def programme(graders):
    return dr_programme()


@pytest.fixture
def exam(programme, graders):
    return examination_of(graders, 1, subject="S-001")


def checked(html: str) -> set[str]:
    return set(re.findall(r'name="([a-z]+-[A-Z])" value="([^"]+)"[^>]*checked', html))


def test_it_refuses_users_who_do_not_grade(client, exam, world):
    client.force_login(world.alice)
    assert client.get(grade_url(exam)).status_code == 403
    assert client.post(grade_url(exam), fields(dr())).status_code == 403
    assert fresh(exam).claimed_by is None


def test_an_examination_outside_the_graders_lab_units_does_not_exist(client, programme, graders):
    elsewhere = examination_of(graders, 7, lab_unit=graders.outpatients, user=graders.bob)
    client.force_login(graders.gina)
    assert client.get(grade_url(elsewhere)).status_code == 404
    assert client.post(grade_url(elsewhere), fields(dr())).status_code == 404
    assert fresh(elsewhere).claimed_by is None and not elsewhere.gradings.exists()


def test_an_unknown_examination_is_404(client, exam, graders):
    client.force_login(graders.gina)
    assert (
        client.get("/grading/examinations/00000000-0000-0000-0000-000000000000/grade").status_code
        == 404
    )


def test_opening_it_claims_it_and_shows_both_eyes_right_eye_first(client, exam, graders):
    client.force_login(graders.gina)
    response = client.get(grade_url(exam))
    assert response.status_code == 200
    claimed = fresh(exam)
    assert claimed.claimed_by == graders.gina
    assert claimed.claim_until > timezone.now() + timedelta(minutes=19)
    html = response.content.decode()
    assert html.index("Right eye") < html.index("Left eye")
    right, left = exam.image_links.order_by("image__area__code").values_list("image_id", flat=True)[
        ::-1
    ]
    assert html.index(f"/images/{right}/view") < html.index(f"/images/{left}/view")
    assert f'href="/direct/images/{right}"' in html  # the full viewer
    names = re.findall(r'<input type="radio" name="([a-z]+-[A-Z])"', html)
    assert list(dict.fromkeys(names)) == [
        "right-R",
        "right-M",
        "right-P",
        "left-R",
        "left-M",
        "left-P",
    ]
    assert html.count("<fieldset") == 6 and html.count("<legend>") == 6
    assert 'data-key="u"' in html and 'id="claim-note"' in html
    assert 'src="/static/fundushub/grading.js"' in html


def test_a_glaucoma_examination_has_one_field_per_eye(client, programme, graders):
    exam = examination_of(graders, 3, disease=graders.glaucoma)
    client.force_login(graders.gina)
    html = client.get(grade_url(exam)).content.decode()
    names = re.findall(r'<input type="radio" name="([a-z]+-[A-Z])"', html)
    assert list(dict.fromkeys(names)) == ["right-G", "left-G"]


def test_someone_elses_claim_is_said_plainly_with_no_form(client, exam, graders):
    assert workflow.claim(graders.greg, exam)
    until = fresh(exam).claim_until
    client.force_login(graders.gina)
    response = client.get(grade_url(exam))
    html = response.content.decode()
    assert "<strong>greg</strong> is grading this examination" in html
    assert timezone.localtime(until).strftime("%H:%M") in html
    assert 'id="grade-form"' not in html
    assert fresh(exam).claimed_by == graders.greg


def test_saving_records_the_grading_and_says_the_outcome_and_rule(client, exam, graders):
    client.force_login(graders.gina)
    client.get(grade_url(exam))
    response = client.post(grade_url(exam), fields(dr("R0", "R0"), then="worklist"), follow=True)
    assert response.redirect_chain[-1][0] == "/grading/"
    exam = fresh(exam)
    assert (exam.stage, exam.outcome) == (Stage.DONE, "recall_24")
    html = response.content.decode()
    assert (
        "S-001 (" in html
        and "outcome Routine recall in 24 months (rule: R0 in both eyes → Routine recall in 24 months)"
        in html
    )


def test_save_and_next_opens_the_next_waiting_examination_claimed(client, programme, graders):
    first = waited(examination_of(graders, 1, subject="S-001"), 30)
    second = waited(examination_of(graders, 2, subject="S-002"), 20)
    client.force_login(graders.gina)
    client.get(grade_url(first))
    response = client.post(grade_url(first), fields(dr("R1", "R0"), then="next"))
    assert response.status_code == 302
    assert response["Location"] == grade_url(second)
    assert fresh(second).claimed_by == graders.gina
    page = client.get(response["Location"]).content.decode()
    assert "S-001 (" in page and "outcome Routine recall in 12 months" in page
    assert fresh(first).outcome == "recall_12"


def test_save_and_next_keeps_the_worklist_filters(client, programme, graders):
    first = waited(examination_of(graders, 1, subject="S-001"), 30)
    waited(examination_of(graders, 2, subject="S-002"), 20)
    third = waited(examination_of(graders, 3, subject="ZZ-003"), 10)
    client.force_login(graders.gina)
    url = grade_url(first) + "?subject=S-001"
    response = client.post(url, fields(dr(), then="next"))
    assert response["Location"] == "/grading/?subject=S-001"  # none left within the filter
    response = client.post(grade_url(third) + "?subject=ZZ", fields(dr(), then="worklist"))
    assert response["Location"] == "/grading/?subject=ZZ"


def test_save_and_next_with_nothing_left_returns_to_the_worklist(client, exam, graders):
    client.force_login(graders.gina)
    response = client.post(grade_url(exam), fields(dr(), then="next"), follow=True)
    assert response.redirect_chain[-1][0] == "/grading/"
    assert "That was the last examination waiting for you." in response.content.decode()


def test_a_missing_field_is_said_and_nothing_typed_is_lost(client, exam, graders):
    client.force_login(graders.gina)
    values = dr("R2", "R1")
    del values["left"]["P"]
    response = client.post(grade_url(exam), fields(values, notes="haemorrhages", then="next"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Grade every field: Photocoagulation (left eye) still missing." in html
    assert checked(html) == {
        ("right-R", "R2"),
        ("right-M", "M0"),
        ("right-P", "P0"),
        ("left-R", "R1"),
        ("left-M", "M0"),
    }
    assert 'value="haemorrhages"' in html
    assert not exam.gradings.exists()


def test_a_value_not_in_the_scheme_is_refused(client, exam, graders):
    client.force_login(graders.gina)
    response = client.post(grade_url(exam), fields(dr("R9")))
    assert response.status_code == 400
    assert "R9 is not a Retinopathy grade" in response.content.decode()


def test_a_save_after_someone_else_took_the_claim_is_refused_and_keeps_the_values(
    client, exam, graders
):
    client.force_login(graders.gina)
    Examination.objects.filter(pk=exam.pk).update(
        claimed_by=graders.greg, claim_until=timezone.now() + timedelta(minutes=5)
    )
    response = client.post(grade_url(exam), fields(dr("R1", "R1"), notes="seen"))
    assert response.status_code == 409
    html = response.content.decode()
    assert workflow.CLAIMED in html
    assert ("right-R", "R1") in checked(html) and 'value="seen"' in html
    assert not exam.gradings.exists()


def test_a_decided_examination_is_not_graded_again(client, exam, graders):
    workflow.record_grading(graders.greg, exam, dr())
    client.force_login(graders.gina)
    response = client.get(grade_url(exam))
    html = response.content.decode()
    assert 'id="outcome">Routine recall in 24 months<' in html
    assert 'id="grade-form"' not in html  # no revision form for an ordinary grader
    assert fresh(exam).claimed_by is None
    response = client.post(grade_url(exam), fields(dr("R1")))
    assert response.status_code == 409
    assert "This examination&#x27;s outcome is already decided." in response.content.decode()
    assert ExamGrading.objects.filter(examination=exam).count() == 1


def test_a_pre_graded_examination_shows_its_outcome(client, programme, graders):
    from fundushub.store.models import GradingStatus

    exam = examination_of(graders, 6, grading_status=GradingStatus.PRE_GRADED)
    Examination.objects.filter(pk=exam.pk).update(programme=None)
    client.force_login(graders.sophie)
    html = client.get(grade_url(exam)).content.decode()
    assert 'id="outcome">Graded before upload<' in html
    assert "no grading programme" not in html and 'id="grade-form"' not in html


def test_the_first_grader_is_told_why_they_do_not_give_the_second_grading(
    client, programme, graders
):
    exam = examination_of(graders, 4)
    programme.second_all = True
    programme.save()
    workflow.record_grading(graders.gina, exam, dr())
    client.force_login(graders.gina)
    html = client.get(grade_url(exam)).content.decode()
    assert "You graded this examination first" in html and 'id="grade-form"' not in html


def test_the_second_grading_is_blind_to_the_first(client, programme, graders):
    programme.second_all = True
    programme.save()
    exam = examination_of(graders, 5, subject="S-005")
    workflow.record_grading(graders.gina, exam, dr("R3s", "R1", m="M1"), notes="FIRST-NOTE-41")
    assert fresh(exam).stage == Stage.SECONDARY
    client.force_login(graders.greg)
    html = client.get(grade_url(exam)).content.decode()
    assert 'id="grade-form"' in html
    assert checked(html) == set()  # nothing pre-filled from the first grading
    assert "FIRST-NOTE-41" not in html
    assert "gina" not in html
    assert "every examination" not in html  # why it was sent on says nothing either
    assert 'id="compare-table"' not in html
    first = exam.gradings.get(role=Role.PRIMARY)
    assert f"rule: {first.outcome_rule}" not in html


def test_an_examination_with_no_programme_says_so(client, exam, graders):
    Examination.objects.filter(pk=exam.pk).update(programme=None)
    client.force_login(graders.gina)
    html = client.get(grade_url(exam)).content.decode()
    assert "no grading programme" in html and 'id="grade-form"' not in html
    assert fresh(exam).claimed_by is None


def test_other_methods_are_refused(client, exam, graders):
    client.force_login(graders.gina)
    assert client.put(grade_url(exam)).status_code == 405


def _queries(client, user, exam) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(grade_url(exam)).status_code == 200
    return len(captured)


def test_the_query_count_does_not_grow_with_the_images(client, programme, graders):
    few = examination_of(graders, 1, subject="S-1", eyes=("right", "left"))
    many = examination_of(
        graders, 2, subject="S-2", eyes=("right", "right", "right", "left", "left", None)
    )
    assert _queries(client, graders.gina, few) == _queries(client, graders.gina, many)

"""Through the pages: a second grader's disagreement reaches arbitration, a senior grader sees
both gradings side by side and must give a reason, and the arbiter's decision becomes the outcome."""

import re

import pytest

from fundushub.grading.models import Role, Stage
from tests.conftest import examination_of
from tests.grading.pages import dr, dr_programme, fields, fresh, grade_url


@pytest.fixture
def exam(graders):
    dr_programme(second_referable=True)
    return examination_of(graders, 1, subject="S-001")


def grade_through_the_page(client, user, exam, values, **extra):
    client.force_login(user)
    assert client.get(grade_url(exam)).status_code == 200
    return client.post(grade_url(exam), fields(values, then="worklist", **extra))


def in_arbitration(client, graders, exam):
    grade_through_the_page(client, graders.gina, exam, dr("R2", "R0"), notes="blot haemorrhages")
    assert fresh(exam).stage == Stage.SECONDARY
    response = grade_through_the_page(client, graders.greg, exam, dr("R1", "R0"))
    assert response.status_code == 302
    assert fresh(exam).stage == Stage.ARBITRATION
    return response


def test_a_disagreement_reaches_arbitration_and_the_arbiter_decides_the_outcome(
    client, exam, graders
):
    response = in_arbitration(client, graders, exam)
    page = client.get(response["Location"]).content.decode()
    assert "The gradings disagree: it goes to arbitration." in page

    client.force_login(graders.sophie)
    worklist = client.get("/grading/?stage=arbitration").content.decode()
    assert "S-001" in worklist
    response = grade_through_the_page(
        client, graders.sophie, exam, dr("R2", "R1"), reason="R2 in the right eye: IRMA seen"
    )
    assert response.status_code == 302
    exam = fresh(exam)
    assert (exam.stage, exam.outcome, exam.decided_by) == (Stage.DONE, "refer_soon", graders.sophie)
    assert exam.final_grading.role == Role.ARBITRATION
    assert exam.decided_reason == "R2 in the right eye: IRMA seen"
    page = client.get(response["Location"]).content.decode()
    assert "outcome Refer to the eye clinic: soon" in page


def test_the_arbiter_sees_both_gradings_side_by_side_with_the_differences_marked(
    client, exam, graders
):
    in_arbitration(client, graders, exam)
    client.force_login(graders.sophie)
    html = client.get(grade_url(exam)).content.decode()
    assert 'id="compare-table"' in html
    assert "First grading · gina" in html and "Second grading · greg" in html
    retinopathy = re.search(r"<th scope=\"row\">Retinopathy</th>(.*?)</tr>", html, re.S).group(1)
    cells = re.findall(r"<td( class=\"differs\")?>([^<]+)", retinopathy)
    assert [(bool(mark), value.strip()) for mark, value in cells] == [
        (True, "R2"),
        (False, "R0"),
        (True, "R1"),
        (False, "R0"),
    ]
    assert "Refer to the eye clinic: soon" in html and "Routine recall in 12 months" in html
    assert "the outcomes differ" in html
    assert "blot haemorrhages" in html  # the arbiter sees the graders' notes
    assert 'id="reason"' in html and "Decide and next" in html


def test_arbitration_needs_a_reason_and_keeps_what_was_typed(client, exam, graders):
    in_arbitration(client, graders, exam)
    response = grade_through_the_page(client, graders.sophie, exam, dr("R3a", "R0"), reason="")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Say why you decided as you did" in html
    assert 'value="R3a" id="right-R-R3a" data-key="3" aria-keyshortcuts="3" checked' in html
    assert 'id="compare-table"' in html
    assert fresh(exam).stage == Stage.ARBITRATION


def test_ordinary_graders_do_not_arbitrate(client, exam, graders):
    in_arbitration(client, graders, exam)
    other = examination_of(graders, 2)  # noqa: F841  (something else waits)
    client.force_login(graders.gina)
    html = client.get(grade_url(exam)).content.decode()
    assert "Only senior graders arbitrate." in html and 'id="grade-form"' not in html
    response = client.post(grade_url(exam), fields(dr("R1"), reason="x"))
    assert response.status_code == 409
    assert fresh(exam).stage == Stage.ARBITRATION

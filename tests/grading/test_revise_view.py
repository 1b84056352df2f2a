"""POST /grading/examinations/<id>/revise: a senior grader revises a decided outcome, with a
reason; the revision becomes the final grading and every earlier one stays."""

import pytest

from fundushub.grading import workflow
from fundushub.grading.models import Role, Stage
from tests.conftest import examination_of
from tests.grading.pages import dr, dr_programme, fields, fresh, grade_url


def url(exam):
    return f"/grading/examinations/{exam.pk}/revise"


@pytest.fixture
def decided(graders):
    dr_programme()
    exam = examination_of(graders, 1, subject="S-001")
    workflow.record_grading(graders.gina, exam, dr("R1", "R0"))
    assert fresh(exam).stage == Stage.DONE
    return fresh(exam)


def test_a_senior_grader_sees_the_revision_form_prefilled_with_the_final_grading(
    client, decided, graders
):
    client.force_login(graders.sophie)
    html = client.get(grade_url(decided)).content.decode()
    assert 'action="/grading/examinations/' in html and "/revise" in html
    assert 'value="R1" id="right-R-R1" data-key="1" aria-keyshortcuts="1" checked' in html
    assert "Routine recall in 12 months" in html


def test_a_senior_grader_revises_the_outcome_with_a_reason(client, decided, graders):
    client.force_login(graders.sophie)
    response = client.post(
        url(decided), fields(dr("R3a", "R0"), reason="new vessels missed"), follow=True
    )
    assert response.redirect_chain[-1][0] == grade_url(decided)
    exam = fresh(decided)
    assert (exam.outcome, exam.decided_by, exam.decided_reason) == (
        "refer_urgent",
        graders.sophie,
        "new vessels missed",
    )
    assert exam.final_grading.role == Role.REVISION
    assert [g.role for g in exam.gradings.order_by("pk")] == [Role.PRIMARY, Role.REVISION]
    html = response.content.decode()
    assert "outcome revised to Refer to the eye clinic: urgent (rule: R3a in either eye" in html


def test_a_revision_without_a_reason_is_refused_and_keeps_the_values(client, decided, graders):
    client.force_login(graders.sophie)
    response = client.post(url(decided), fields(dr("R3a", "R0"), reason="  "))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Say why the outcome is revised" in html
    assert 'value="R3a" id="right-R-R3a" data-key="3" aria-keyshortcuts="3" checked' in html
    assert fresh(decided).outcome == "recall_12"


def test_ordinary_graders_may_not_revise(client, decided, graders):
    client.force_login(graders.greg)
    assert client.post(url(decided), fields(dr("R3a"), reason="x")).status_code == 403
    assert fresh(decided).outcome == "recall_12"


def test_an_undecided_examination_is_not_revised(client, graders):
    dr_programme()
    exam = examination_of(graders, 2)
    client.force_login(graders.sophie)
    response = client.post(url(exam), fields(dr(), reason="x"))
    assert response.status_code == 409
    assert "Only a decided examination is revised" in response.content.decode()


def test_it_is_404_outside_the_lab_units(client, graders):
    dr_programme()
    elsewhere = examination_of(graders, 3, lab_unit=graders.outpatients, user=graders.bob)
    client.force_login(graders.sophie)
    assert client.post(url(elsewhere), fields(dr(), reason="x")).status_code == 404

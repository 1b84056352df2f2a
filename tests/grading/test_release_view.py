"""POST /grading/examinations/<id>/release: give a claim back (Esc on the grading page)."""

import pytest

from fundushub.grading import workflow
from tests.conftest import examination_of
from tests.grading.pages import dr_programme, fresh


def url(exam):
    return f"/grading/examinations/{exam.pk}/release"


@pytest.fixture
def exam(graders):
    dr_programme()
    return examination_of(graders, 1, subject="S-001")


def test_it_gives_the_claim_back_and_returns_to_the_worklist(client, exam, graders):
    workflow.claim(graders.gina, exam)
    client.force_login(graders.gina)
    response = client.post(url(exam) + "?stage=first", follow=True)
    assert response.redirect_chain[-1][0] == "/grading/?stage=first"
    assert "Released S-001" in response.content.decode()
    exam = fresh(exam)
    assert exam.claimed_by is None and exam.claim_until is None


def test_it_leaves_someone_elses_claim_alone(client, exam, graders):
    workflow.claim(graders.greg, exam)
    client.force_login(graders.gina)
    client.post(url(exam))
    assert fresh(exam).claimed_by == graders.greg


def test_it_is_404_outside_the_graders_lab_units(client, graders):
    dr_programme()
    elsewhere = examination_of(graders, 3, lab_unit=graders.outpatients, user=graders.bob)
    client.force_login(graders.gina)
    assert client.post(url(elsewhere)).status_code == 404


def test_it_refuses_non_graders_and_get_requests(client, exam, graders):
    client.force_login(graders.alice)
    assert client.post(url(exam)).status_code == 403
    client.force_login(graders.gina)
    assert client.get(url(exam)).status_code == 405

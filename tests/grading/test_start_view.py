"""POST /grading/start: claim the longest-waiting examination (within the worklist's filters)
and open its grading page."""

import pytest

from fundushub.grading import workflow
from tests.conftest import examination_of
from tests.grading.pages import dr, dr_programme, fresh, grade_url, waited

URL = "/grading/start"


@pytest.fixture
def programme(graders):
    return dr_programme(second_referable=True)


def test_it_claims_the_longest_waiting_examination_and_opens_it(client, programme, graders):
    newer = waited(examination_of(graders, 1, subject="S-1"), 5)
    older = waited(examination_of(graders, 2, subject="S-2"), 50)
    client.force_login(graders.gina)
    response = client.post(URL)
    assert response.status_code == 302 and response["Location"] == grade_url(older)
    assert fresh(older).claimed_by == graders.gina
    assert fresh(newer).claimed_by is None


def test_it_passes_over_an_examination_someone_else_holds(client, programme, graders):
    held = waited(examination_of(graders, 1, subject="S-1"), 50)
    free = waited(examination_of(graders, 2, subject="S-2"), 5)
    workflow.claim(graders.greg, held)
    client.force_login(graders.gina)
    assert client.post(URL)["Location"] == grade_url(free)


def test_it_keeps_the_filters(client, programme, graders):
    first = waited(examination_of(graders, 1, subject="S-1"), 50)
    second = waited(examination_of(graders, 2, subject="S-2"), 5)
    workflow.record_grading(graders.greg, first, dr("R2"))  # referable: to a second grader
    client.force_login(graders.gina)
    response = client.post(URL, {"stage": "first"})
    assert response["Location"] == grade_url(second) + "?stage=first"


def test_with_nothing_waiting_it_says_so_on_the_worklist(client, programme, graders):
    client.force_login(graders.gina)
    response = client.post(URL, {"subject": "nobody"}, follow=True)
    assert response.redirect_chain[-1][0] == "/grading/?subject=nobody"
    assert "Nothing is waiting for you to grade right now." in response.content.decode()


def test_it_takes_nothing_outside_the_graders_lab_units(client, programme, graders):
    examination_of(graders, 9, lab_unit=graders.outpatients, user=graders.bob)
    client.force_login(graders.gina)
    assert client.post(URL)["Location"] == "/grading/"


def test_it_refuses_users_who_do_not_grade_and_get_requests(client, programme, graders):
    client.force_login(graders.alice)
    assert client.post(URL).status_code == 403
    client.force_login(graders.gina)
    assert client.get(URL).status_code == 405

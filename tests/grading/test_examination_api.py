"""GET /api/examinations/<id>: an examination's status as JSON for other systems (session sign-in);
404 outside the user's lab units; grades once decided, nothing of a blind first grading."""

from fundushub.grading import workflow
from fundushub.grading.models import Examination
from tests.conftest import examination_of


def dr(right="R0", left="R0"):
    return {"right": {"R": right, "M": "M0", "P": "P0"}, "left": {"R": left, "M": "M0", "P": "P0"}}


def get(client, exam, status=200) -> dict:
    response = client.get(f"/api/examinations/{exam.pk}")
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


def no_second(exam):
    exam.programme.qa_sample_percent = 0
    exam.programme.save()
    return exam


def test_an_undecided_examination_says_where_it_stands(client, graders):
    exam = examination_of(graders, 1, eyes=("right", "left", None))
    client.force_login(graders.alice)
    doc = get(client, exam)
    assert {k: doc[k] for k in ("id", "subject", "visit_date", "stage", "outcome")} == {
        "id": str(exam.pk),
        "subject": "105-10-0989-3",
        "visit_date": exam.visit_date.isoformat(),
        "stage": "primary",
        "outcome": None,
    }
    assert doc["hospital"] == {"id": graders.st_lucia.pk, "name": "St Lucia"}
    assert doc["lab_unit"] == {"id": graders.retina.pk, "name": "Retina"}
    assert (doc["decided_at"], doc["decided_by"], doc["gradings"]) == (None, None, [])
    assert sorted((i["eye"] or "", i["source"]) for i in doc["images"]) == [
        ("", "direct"),
        ("left", "direct"),
        ("right", "direct"),
    ]
    assert doc["urls"] == {"page": f"/examinations/{exam.pk}"}


def test_a_decided_examination_gives_its_outcome_rule_decider_and_grades(client, graders):
    exam = no_second(examination_of(graders, 2))
    workflow.record_grading(graders.gina, exam, dr("R1", "R0"))
    client.force_login(graders.alice)
    doc = get(client, exam)
    assert doc["stage"] == "done"
    assert doc["outcome"] == {
        "code": "recall_12",
        "label": "Routine recall in 12 months",
        "rule": "otherwise → Routine recall in 12 months",
        "referable": False,
    }
    assert doc["decided_by"] == "gina" and doc["decided_at"]
    (grading,) = doc["gradings"]
    assert (grading["role"], grading["outcome"], grading["final"]) == ("primary", "recall_12", True)
    assert grading["values"] == dr("R1", "R0")
    assert doc["urls"]["letter"] == f"/examinations/{exam.pk}/letter"


def test_no_values_are_given_before_the_decision_and_no_outcome_to_a_possible_second_grader(
    client, graders
):
    exam = no_second(examination_of(graders, 3))
    workflow.record_grading(graders.gina, exam, dr("R2", "R0"))
    client.force_login(graders.greg)
    (grading,) = get(client, exam)["gradings"]
    assert grading["role"] == "primary" and grading["at"]
    assert grading["outcome"] is None and "values" not in grading
    client.force_login(graders.sophie)  # a senior grader sees the outcome, still no values
    (grading,) = get(client, exam)["gradings"]
    assert grading["outcome"] == "refer_soon" and "values" not in grading


def test_the_arbiters_decision_names_the_arbiter_and_why(client, graders):
    exam = no_second(examination_of(graders, 4))
    workflow.record_grading(graders.gina, exam, dr("R2", "R0"))
    workflow.record_grading(graders.greg, Examination.objects.get(pk=exam.pk), dr("R0", "R0"))
    workflow.record_grading(
        graders.sophie, Examination.objects.get(pk=exam.pk), dr("R2", "R0"), reason="IRMA"
    )
    client.force_login(graders.alice)
    doc = get(client, exam)
    assert (doc["decided_by"], doc["decided_reason"]) == ("sophie", "IRMA")
    assert [g["role"] for g in doc["gradings"]] == ["primary", "secondary", "arbitration"]
    assert [g["final"] for g in doc["gradings"]] == [False, False, True]


def test_another_lab_units_examination_is_a_json_404(
    client, graders, same_hospital_other_unit_user
):
    exam = examination_of(graders, 5)
    client.force_login(same_hospital_other_unit_user)
    assert get(client, exam, status=404) == {"error": "Examination not found"}


def test_an_unknown_examination_is_a_json_404(client, graders):
    client.force_login(graders.alice)
    response = client.get("/api/examinations/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404 and response.json() == {"error": "Examination not found"}


def test_without_a_session_it_answers_401_json(client, graders):
    exam = examination_of(graders, 6)
    assert get(client, exam, status=401) == {"error": "Authentication required"}


def test_only_get_is_allowed(client, graders):
    exam = examination_of(graders, 7)
    client.force_login(graders.alice)
    assert client.post(f"/api/examinations/{exam.pk}").status_code == 405


def test_it_costs_the_same_queries_for_2_or_10_images_and_gradings(client, graders):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small = no_second(examination_of(graders, 8, subject="Q-1"))
    workflow.record_grading(graders.gina, small, dr())
    big = examination_of(graders, 9, subject="Q-2", eyes=("right", "left") * 5)
    workflow.record_grading(graders.gina, big, dr())
    for n in range(9):
        workflow.revise(graders.sophie, Examination.objects.get(pk=big.pk), dr(), f"look {n}")
    client.force_login(graders.alice)
    get(client, small)
    counts = []
    for exam in (small, big):
        with CaptureQueriesContext(connection) as captured:
            get(client, exam)
        counts.append(len(captured))
    assert counts[0] == counts[1]

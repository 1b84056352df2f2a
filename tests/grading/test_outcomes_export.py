"""CSV export of decided outcomes per period (decision day) and lab unit: scoped, streamed,
defused against spreadsheet formulas, audited."""

import csv
import io
from datetime import datetime, timedelta

from django.utils import timezone

from fundushub.audit.models import AuditEvent
from fundushub.grading import outcomes_csv, workflow
from fundushub.grading.models import ExamGrading, Examination
from tests.conftest import examination_of

URL = "/examinations/outcomes.csv"


def dr(right="R0", left="R0"):
    return {"right": {"R": right, "M": "M0", "P": "P0"}, "left": {"R": left, "M": "M0", "P": "P0"}}


def decided(world, seed, values=None, on="2026-11-10", subject=None, **fields):
    """An examination graded once (no second grading) and decided on the given day at noon."""
    exam = examination_of(world, seed, subject=subject or f"S-{seed}", **fields)
    exam.programme.qa_sample_percent = 0
    exam.programme.second_referable = False
    exam.programme.save()
    workflow.record_grading(world.gina, exam, values or dr())
    noon = datetime.fromisoformat(f"{on}T12:00").replace(tzinfo=timezone.get_current_timezone())
    Examination.objects.filter(pk=exam.pk).update(decided_at=noon)
    return Examination.objects.get(pk=exam.pk)


def table(response) -> list[dict]:
    assert response.status_code == 200, response.content
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_it_exports_every_column_of_a_decided_examination(client, graders):
    exam = decided(graders, 1, dr("R2", "R0"), on="2026-11-10")
    client.force_login(graders.mary)
    response = client.get(URL, {"from": "2026-11-01", "to": "2026-11-30"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"] == 'attachment; filename="outcomes-20261101-20261130.csv"'
    )
    (row,) = table(response)
    assert list(row) == outcomes_csv.COLUMNS
    assert row == {
        "examination_id": str(exam.pk),
        "subject": "S-1",
        "visit_date": exam.visit_date.isoformat(),
        "hospital": "St Lucia",
        "lab_unit": "Retina",
        "programme": exam.programme.name,
        "stage": "done",
        "outcome_code": "refer_soon",
        "outcome_label": "Refer to the eye clinic: soon",
        "rule": exam.outcome_rule,
        "referable": "yes",
        "decided_at": timezone.localtime(exam.decided_at).isoformat(timespec="seconds"),
        "decided_by": "gina",
        "right_eye_grade": "R2 M0 P0",
        "left_eye_grade": "R0 M0 P0",
    }


def test_the_period_is_the_decision_day_inclusive_and_undecided_examinations_are_left_out(
    client, graders
):
    decided(graders, 2, on="2026-10-31")
    first = decided(graders, 3, on="2026-11-01")
    last = decided(graders, 4, on="2026-11-30")
    decided(graders, 5, on="2026-12-01")
    examination_of(graders, 6, subject="WAITING")
    client.force_login(graders.mary)
    rows = table(client.get(URL, {"from": "2026-11-01", "to": "2026-11-30"}))
    assert [r["examination_id"] for r in rows] == [str(first.pk), str(last.pk)]


def test_without_a_period_it_exports_this_month_so_far(client, graders):
    today = timezone.localdate()
    this_month = decided(graders, 7, on=today.isoformat())
    decided(graders, 8, on=(today.replace(day=1) - timedelta(days=1)).isoformat())
    client.force_login(graders.mary)
    assert [r["examination_id"] for r in table(client.get(URL))] == [str(this_month.pk)]


def test_it_exports_only_the_users_lab_units_and_one_when_asked(client, graders):
    retina = decided(graders, 9)
    screening = decided(graders, 10, lab_unit=graders.screening)
    decided(graders, 11, lab_unit=graders.outpatients, user=graders.bob)
    client.force_login(graders.mary)  # Retina and Screening
    everything = {"from": "2026-11-01", "to": "2026-11-30"}
    assert {r["examination_id"] for r in table(client.get(URL, everything))} == {
        str(retina.pk),
        str(screening.pk),
    }
    one = table(client.get(URL, {**everything, "lab_unit": graders.screening.pk}))
    assert [r["examination_id"] for r in one] == [str(screening.pk)]


def test_another_lab_unit_is_404_even_in_the_same_hospital(
    client, graders, same_hospital_other_unit_user
):
    decided(graders, 12)
    client.force_login(same_hospital_other_unit_user)
    response = client.get(URL, {"lab_unit": graders.retina.pk})
    assert response.status_code == 404
    assert table(client.get(URL, {"from": "2026-11-01", "to": "2026-11-30"})) == []


def test_malformed_dates_and_lab_units_are_refused_with_a_reason(client, graders):
    client.force_login(graders.mary)
    for query, reason in (
        ({"from": "10/11/2026"}, "'from' must be a date as YYYY-MM-DD"),
        ({"to": "2026-13-01"}, "'to' must be a date as YYYY-MM-DD"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, "starts after it ends"),
        ({"lab_unit": "retina"}, "'lab_unit' must be a lab unit's id"),
    ):
        response = client.get(URL, query)
        assert response.status_code == 400, query
        assert reason in response.content.decode()


def test_cells_that_a_spreadsheet_would_run_are_defused(client, graders):
    decided(graders, 13, subject="=HYPERLINK(1)")
    client.force_login(graders.mary)
    (row,) = table(client.get(URL, {"from": "2026-11-01", "to": "2026-11-30"}))
    assert row["subject"] == "'=HYPERLINK(1)"


def test_a_pre_graded_examination_is_exported_with_its_uploader_as_decider(client, graders):
    from fundushub.store.models import GradingStatus

    exam = examination_of(graders, 14, subject="PRE-1", grading_status=GradingStatus.PRE_GRADED)
    client.force_login(graders.mary)
    day = timezone.localdate(Examination.objects.get(pk=exam.pk).decided_at).isoformat()
    (row,) = table(client.get(URL, {"from": day, "to": day}))
    assert (row["outcome_code"], row["referable"], row["decided_by"]) == (
        "graded_elsewhere",
        "",
        "alice",
    )
    assert (row["right_eye_grade"], row["left_eye_grade"]) == ("", "")


def test_it_streams_in_chunks_without_losing_or_repeating_rows(client, graders, monkeypatch):
    monkeypatch.setattr(outcomes_csv, "CHUNK", 2)
    exams = [decided(graders, 20 + n) for n in range(5)]
    # Two decided at the very same moment: the id breaks the tie.
    Examination.objects.filter(pk__in=[exams[1].pk, exams[2].pk]).update(
        decided_at=exams[0].decided_at
    )
    client.force_login(graders.mary)
    rows = table(client.get(URL, {"from": "2026-11-01", "to": "2026-11-30"}))
    assert sorted(r["examination_id"] for r in rows) == sorted(str(e.pk) for e in exams)


def test_the_export_is_audited(client, graders):
    client.force_login(graders.mary)
    table(
        client.get(URL, {"from": "2026-11-01", "to": "2026-11-30", "lab_unit": graders.retina.pk})
    )
    event = AuditEvent.objects.get(action="examinations.outcomes_exported")
    assert event.user == graders.mary
    assert event.data == {"period": ["2026-11-01", "2026-11-30"], "lab_unit": graders.retina.pk}


def test_anonymous_visitors_are_sent_to_sign_in(client, graders):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_export_page_asks_for_a_period_and_one_of_the_users_lab_units(client, graders):
    client.force_login(graders.mary)
    response = client.get("/examinations/outcomes")
    text = response.content.decode()
    assert response.status_code == 200
    assert f'action="{URL}"' in text and 'method="get"' in text
    today = timezone.localdate()
    assert f'value="{today.replace(day=1).isoformat()}"' in text
    assert f'value="{today.isoformat()}"' in text
    assert f'value="{graders.retina.pk}"' in text and f'value="{graders.screening.pk}"' in text
    assert f'value="{graders.outpatients.pk}"' not in text


def test_the_export_page_needs_a_sign_in(client, graders):
    response = client.get("/examinations/outcomes")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_menu_leads_those_who_see_quality_figures_to_the_export(client, graders):
    client.force_login(graders.mary)
    assert (
        'href="/examinations/outcomes">Outcomes</a>'
        in client.get("/grading/quality").content.decode()
    )
    client.force_login(graders.gina)
    assert "/examinations/outcomes" not in client.get("/direct/dashboard").content.decode()


def test_graders_and_uploaders_may_not_export_many_patients_outcomes(client, graders):
    for user in (graders.gina, graders.alice):
        client.force_login(user)
        assert client.get("/examinations/outcomes.csv").status_code == 403
        assert client.get("/examinations/outcomes").status_code == 403
    client.force_login(graders.sophie)  # a senior grader
    assert client.get("/examinations/outcomes.csv").status_code == 200


def test_grades_are_written_in_the_schemes_field_order_whatever_order_the_database_keeps(
    client, graders
):
    # PostgreSQL's jsonb gives keys back in its own order (M, P, R): the scheme's order decides.
    exam = decided(graders, 1, dr("R2", "R0"), on="2026-11-10")
    shuffled = {eye: {"P": "P0", "M": "M0", "R": r} for eye, r in (("right", "R2"), ("left", "R0"))}
    ExamGrading.objects.filter(pk=exam.final_grading_id).update(values=shuffled)
    client.force_login(graders.mary)
    (row,) = table(client.get(URL, {"from": "2026-11-01", "to": "2026-11-30"}))
    assert (row["right_eye_grade"], row["left_eye_grade"]) == ("R2 M0 P0", "R0 M0 P0")

"""grading/gradability_agreement.py: the graders' U beside the automatic gradability verdict,
checked against a fixture counted by hand.

Examinations of Retina on the diabetic eye programme (DR: U is the R field's ungradable value),
each decided by one grading; per image its eye, the final grading's value for that eye and the
gradability check's verdict:

    exam  decided   image  final grading            check        counted as
     1    March     right  R U                      ungradable   U · ungradable     agree
     1    March     left   R0 (G U: not a DR field) good         not U · good       agree
     2    March     right  R1                       usable       not U · usable     agree
     2    March     left   R U                      good         U · good           missed
     3    March     right  R0                       ungradable   not U · ungradable false alarm
     3    March     left   R0                       —            not compared (not checked)
     4    March     left   R U (scheme from the programme) ungradable   U · ungradable  agree
     5    March     right  R0                       error        not compared (check failed)
     5    March     —      (eye unknown)            good         not counted at all
     6    April     right  R U                      usable       U · usable         missed
     6    April     left   R2                       good         not U · good       agree
     7    March     (Outpatients: another lab unit)              not counted
     8    —         (not decided)                                not counted

    March: U · ungradable 2, U · good 1; not U · good 1, usable 1, ungradable 1
           compared 6, agreed 4 → 66.7 %; not compared 2
    April: U · usable 1; not U · good 1; compared 2, agreed 1 → 50 %
    Both:  U: good 1, usable 1, ungradable 2; not U: good 2, usable 1, ungradable 1
           compared 8, agreed 5 → 62.5 %; not compared 2
"""

from datetime import UTC, date, datetime

import pytest

from fundushub.grading.gradability_agreement import Agreement, agreement, graded_u
from fundushub.grading.models import ExaminationImage, Role
from fundushub.grading.quality import Filters
from tests.checks.results import add_result
from tests.conftest import store_image
from tests.grading.test_quality import add_exam, add_grading, decide

MARCH = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
APRIL = datetime(2026, 4, 10, 9, 0, tzinfo=UTC)


def dr(r):
    return {"R": r, "M": "M0", "P": "P0"}


def exam_with(w, n, decided, values, images, lab_unit=None, scheme=True):
    """An examination decided at `decided` (None: not decided) by a grading with these values,
    holding images given as (eye or None, verdict or None)."""
    exam = add_exam(w, 500 + n, MARCH, lab_unit=lab_unit)  # beside test_quality's exams
    for k, (eye, verdict) in enumerate(images):
        area = getattr(w, eye) if eye else None
        image = store_image(w, 100 * n + k, area=area, lab_unit=lab_unit or w.retina)
        ExaminationImage.objects.create(image=image, examination=exam)
        if verdict:
            add_result(image, "gradability", verdict)
    if decided:
        grading = add_grading(exam, Role.PRIMARY, w.gina, "recall_12", decided)
        grading.values = values
        grading.scheme = exam.programme.scheme if scheme else None
        grading.save()
        decide(exam, grading, decided)
    return exam


def build_fixture(w):
    """The fixture of the module's docstring."""
    left_with_g = {**dr("R0"), "G": "U"}
    exam_with(
        w,
        1,
        MARCH,
        {"right": dr("U"), "left": left_with_g},
        [("right", "ungradable"), ("left", "good")],
    )
    exam_with(
        w, 2, MARCH, {"right": dr("R1"), "left": dr("U")}, [("right", "usable"), ("left", "good")]
    )
    exam_with(
        w,
        3,
        MARCH,
        {"right": dr("R0"), "left": dr("R0")},
        [("right", "ungradable"), ("left", None)],
    )
    exam_with(
        w, 4, MARCH, {"right": dr("R0"), "left": dr("U")}, [("left", "ungradable")], scheme=False
    )
    exam_with(
        w, 5, MARCH, {"right": dr("R0"), "left": dr("R0")}, [("right", "error"), (None, "good")]
    )
    exam_with(
        w, 6, APRIL, {"right": dr("U"), "left": dr("R2")}, [("right", "usable"), ("left", "good")]
    )
    exam_with(w, 7, MARCH, {"right": dr("U")}, [("right", "ungradable")], lab_unit=w.outpatients)
    exam_with(w, 8, None, {}, [("right", "good")])
    return w


@pytest.fixture
def fixture(graders):
    return build_fixture(graders)


def period(w, date_from=date(2026, 3, 1), date_to=date(2026, 4, 30)):
    return Filters(date_from, date_to, (w.retina.pk, w.screening.pk))


def test_the_whole_period_has_the_hand_counted_table(fixture):
    _, whole = agreement(period(fixture))
    assert whole.month is None
    assert whole.rows == [("Graded U", [1, 1, 2]), ("Graded, not U", [2, 1, 1])]
    assert (whole.compared, whole.agreed, whole.not_compared) == (8, 5, 2)
    assert whole.share == pytest.approx(0.625) and whole.percent == pytest.approx(62.5)
    assert (whole.missed, whole.false_alarms) == (2, 1)


def test_each_month_of_decision_has_its_own_table(fixture):
    months, _ = agreement(period(fixture))
    march, april = months
    assert (march.month, april.month) == (date(2026, 3, 1), date(2026, 4, 1))
    assert march.rows == [("Graded U", [1, 0, 2]), ("Graded, not U", [1, 1, 1])]
    assert (march.compared, march.agreed, march.not_compared) == (6, 4, 2)
    assert march.share == pytest.approx(4 / 6)
    assert april.rows == [("Graded U", [0, 1, 0]), ("Graded, not U", [1, 0, 0])]
    assert (april.compared, april.agreed, april.share) == (2, 1, 0.5)


def test_only_the_period_and_lab_units_chosen_count(fixture):
    months, whole = agreement(period(fixture, date_to=date(2026, 3, 31)))
    assert [m.month for m in months] == [date(2026, 3, 1)] and whole.compared == 6
    months, whole = agreement(
        Filters(date(2026, 3, 1), date(2026, 4, 30), (fixture.outpatients.pk,))
    )
    assert whole.rows == [("Graded U", [0, 0, 1]), ("Graded, not U", [0, 0, 0])]  # exam 7 only


def test_a_period_without_decided_examinations_compares_nothing(graders):
    months, whole = agreement(period(graders))
    assert months == [] and (whole.compared, whole.share, whole.percent) == (0, None, None)


def test_it_reads_in_two_queries_however_many_images(fixture, django_assert_num_queries):
    with django_assert_num_queries(2):
        agreement(period(fixture))


def test_a_grading_without_the_eye_or_without_values_grades_nothing():
    ungradable = {(1, "R", "U")}
    assert graded_u({"right": {"R": "U"}}, "right", 1, ungradable) is True
    assert graded_u({"right": {"R": "U"}}, "right", 2, ungradable) is False  # another scheme
    assert graded_u({"right": {"R": "U"}}, "left", 1, ungradable) is None
    assert graded_u({"right": {}}, "right", 1, ungradable) is None
    assert graded_u(None, "right", 1, ungradable) is None
    assert graded_u({"right": "U"}, "right", 1, ungradable) is None


def test_an_image_without_a_verdict_or_with_an_error_is_not_compared():
    table = Agreement(None)
    for human_u, verdict in [(True, None), (False, "error"), (None, "good"), (True, "ungradable")]:
        table.add(human_u, verdict)
    assert (table.compared, table.not_compared, table.agreed) == (1, 3, 1)

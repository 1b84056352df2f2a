"""grading/quality.py: the QA figures, checked against a fixture computed by hand.

The fixture: twelve examinations of Retina in March 2026 on the diabetic eye programme.
gina grades all twelve first; greg grades 1–10 second; sophie arbitrates 5, 8 and 10
(first and second outcomes differ there). 11 and 12 had no second grading.

     exam  gina (1st)   greg (2nd)   sophie (arb)   final
      1    recall_12    recall_12                   recall_12
      2    recall_12    recall_12                   recall_12
      3    recall_12    recall_12                   recall_12
      4    recall_12    recall_12                   recall_12
      5    recall_12    refer_soon   refer_soon     refer_soon
      6    refer_soon   refer_soon                  refer_soon
      7    refer_soon   refer_soon                  refer_soon
      8    refer_soon   recall_12    recall_12      recall_12
      9    reimage      reimage                     reimage
     10    recall_12    refer_soon   reimage        reimage
     11    recall_24    —                           recall_24   (single grading: not compared)
     12    recall_12    —                           recall_12   (single grading: not compared)

gina against the final outcome (exams 1–10; rows gina, columns final):

                 recall  refer  reimage | row
      recall        4      1       1    |  6
      refer         1      2       0    |  3
      reimage       0      0       1    |  1
      column        5      3       2    | 10

  p_o = (4 + 2 + 1) / 10 = 0.7
  p_e = (6·5 + 3·3 + 1·2) / 10² = 41 / 100 = 0.41
  κ   = (0.7 − 0.41) / (1 − 0.41) = 0.29 / 0.59 = 0.4915…  → 0.492
  referable (refer_soon) truly: exams 5, 6, 7; gina refers 6, 7 → sensitivity 2/3 = 0.667
  not referable truly: 1–4, 8, 9, 10; gina refers 8 → specificity 6/7 = 0.857

greg against the final outcome (exams 1–10):

                 recall  refer  reimage | row
      recall        5      0       0    |  5
      refer         0      3       1    |  4
      reimage       0      0       1    |  1
      column        5      3       2    | 10

  p_o = (5 + 3 + 1) / 10 = 0.9
  p_e = (5·5 + 4·3 + 1·2) / 100 = 39 / 100 = 0.39
  κ   = (0.9 − 0.39) / (1 − 0.39) = 0.51 / 0.61 = 0.8361…  → 0.836
  sensitivity: greg refers 5, 6, 7 → 3/3 = 1.000; specificity: he refers 10 → 6/7 = 0.857

sophie: her three arbitrations are the final gradings, so nothing is compared: κ "—" (None).

All graders pooled (gina's and greg's 20 pairs): rows recall 11, refer 7, reimage 2; columns
recall 10, refer 6, reimage 4; agreements 7 + 9 = 16.
  p_o = 16 / 20 = 0.8;  p_e = (11·10 + 7·6 + 2·4) / 20² = 160 / 400 = 0.4
  κ   = (0.8 − 0.4) / (1 − 0.4) = 0.6667;  sensitivity 5/6 = 0.833;  specificity 12/14 = 0.857

Turnaround (hours from entering the grader's stage):
  gina, from each examination's creation: 1 2 3 4 5 6 7 8 9 10 20 40 (exams 1–12)
    median = (6 + 7) / 2 = 6.5
    90th percentile: position (12 − 1)·0.9 = 9.9 → 10 + 0.9·(20 − 10) = 19.0
  greg, from gina's grading: 2 2 2 2 2 4 4 4 8 24 (exams 1–10)
    median = (2 + 4) / 2 = 3.0;  90th: position 8.1 → 8 + 0.1·(24 − 8) = 9.6
  sophie, from greg's grading: 1 3 5 (exams 5, 8, 10)
    median = 3.0;  90th: position 1.8 → 3 + 0.8·(5 − 3) = 4.6

Ungradable rate of Retina: 12 decided, 2 re-image (9, 10) → 2/12 = 0.1667.
"""

from datetime import UTC, date, datetime, timedelta

import pytest

from fundushub.grading import quality, workflow
from fundushub.grading.models import (
    REFERABLE_OUTCOMES,
    ExamGrading,
    Examination,
    Programme,
    Role,
    Stage,
)
from fundushub.grading.quality import Filters, cohen_kappa, percentile, sensitivity_specificity
from tests.conftest import examination_of, store_image

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
MARCH = (date(2026, 3, 1), date(2026, 3, 31))

# exam: (gina, greg, sophie, final)
TABLE = {
    1: ("recall_12", "recall_12", None, "recall_12"),
    2: ("recall_12", "recall_12", None, "recall_12"),
    3: ("recall_12", "recall_12", None, "recall_12"),
    4: ("recall_12", "recall_12", None, "recall_12"),
    5: ("recall_12", "refer_soon", "refer_soon", "refer_soon"),
    6: ("refer_soon", "refer_soon", None, "refer_soon"),
    7: ("refer_soon", "refer_soon", None, "refer_soon"),
    8: ("refer_soon", "recall_12", "recall_12", "recall_12"),
    9: ("reimage", "reimage", None, "reimage"),
    10: ("recall_12", "refer_soon", "reimage", "reimage"),
    11: ("recall_24", None, None, "recall_24"),
    12: ("recall_12", None, None, "recall_12"),
}
GINA_HOURS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 40]
GREG_HOURS = [2, 2, 2, 2, 2, 4, 4, 4, 8, 24]
SOPHIE_HOURS = {5: 1, 8: 3, 10: 5}


def add_exam(world, n, created, lab_unit=None):
    lab_unit = lab_unit or world.retina
    exam = Examination.objects.create(
        hospital=lab_unit.hospital,
        lab_unit=lab_unit,
        group_key=f"qa:{n}",
        subject_identifier=f"QA-{n}",
        visit_date=created.date(),
        programme=Programme.objects.get(name="Diabetic eye screening"),
    )
    Examination.objects.filter(pk=exam.pk).update(created_at=created)
    return exam


def add_grading(exam, role, grader, outcome, at):
    grading = ExamGrading.objects.create(
        examination=exam,
        role=role,
        grader=grader,
        outcome=outcome,
        referable=outcome in REFERABLE_OUTCOMES,
    )
    ExamGrading.objects.filter(pk=grading.pk).update(created_at=at)
    return grading


def decide(exam, grading, at):
    Examination.objects.filter(pk=exam.pk).update(
        stage=Stage.DONE,
        final_grading=grading,
        outcome=grading.outcome,
        referable=grading.referable,
        decided_at=at,
    )


@pytest.fixture
def march(graders):
    return build_march(graders)


def build_march(w):
    """The fixture of the module's docstring."""
    for n, (first, second, arbitration, final) in TABLE.items():
        created = T0 + timedelta(days=n)
        exam = add_exam(w, n, created)
        at = created + timedelta(hours=GINA_HOURS[n - 1])
        deciding = add_grading(exam, Role.PRIMARY, w.gina, first, at)
        if second:
            at += timedelta(hours=GREG_HOURS[n - 1])
            add_grading(exam, Role.SECONDARY, w.greg, second, at)
        if arbitration:
            at += timedelta(hours=SOPHIE_HOURS[n])
            deciding = add_grading(exam, Role.ARBITRATION, w.sophie, arbitration, at)
        assert deciding.outcome == final
        decide(exam, deciding, at)
    return w


def march_filters(w, **changes):
    values = dict(date_from=MARCH[0], date_to=MARCH[1], lab_unit_ids=(w.retina.pk, w.screening.pk))
    values.update(changes)
    return Filters(**values)


def figures_by_name(filters):
    rows, everyone = quality.grader_figures(filters)
    return {r.name: r for r in rows}, everyone


# --- the statistics on their own ---------------------------------------------------------------


def test_kappa_matches_the_textbook_example():
    """Two readers, 50 applications: both yes 20, A yes B no 5, A no B yes 10, both no 15.
    p_o = 35/50 = 0.7; A says yes 25/50, B 30/50: p_e = 0.5·0.6 + 0.5·0.4 = 0.5; κ = 0.2/0.5."""
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    assert cohen_kappa(pairs) == pytest.approx(0.4, abs=1e-3)


def test_kappa_matches_a_second_textbook_example_with_low_agreement():
    """45 / 15 / 25 / 15 of 100: p_o = 0.6; p_e = 0.6·0.7 + 0.4·0.3 = 0.54; κ = 0.06/0.46."""
    pairs = [("y", "y")] * 45 + [("y", "n")] * 15 + [("n", "y")] * 25 + [("n", "n")] * 15
    assert cohen_kappa(pairs) == pytest.approx(0.1304, abs=1e-3)


def test_kappa_is_undefined_with_no_pairs_or_everything_in_one_category():
    assert cohen_kappa([]) is None
    assert cohen_kappa([("recall_12", "recall_12")] * 7) is None


def test_kappa_is_one_for_full_agreement_and_minus_one_for_systematic_disagreement():
    assert cohen_kappa([("a", "a"), ("b", "b"), ("a", "a")]) == pytest.approx(1.0)
    assert cohen_kappa([("a", "b"), ("b", "a")]) == pytest.approx(-1.0)


def test_kappa_is_zero_when_one_rater_always_says_the_same_and_the_other_does_not():
    assert cohen_kappa([("a", "a"), ("a", "b"), ("a", "b")]) == pytest.approx(0.0)


def test_sensitivity_and_specificity_count_each_side_of_the_truth():
    pairs = [(True, True)] * 2 + [(False, True)] + [(False, False)] * 6 + [(True, False)]
    sensitivity, specificity = sensitivity_specificity(pairs)
    assert (round(sensitivity, 3), round(specificity, 3)) == (0.667, 0.857)


def test_sensitivity_or_specificity_is_undefined_without_cases_on_its_side():
    assert sensitivity_specificity([(False, False)]) == (None, 1.0)
    assert sensitivity_specificity([(True, True)]) == (1.0, None)
    assert sensitivity_specificity([]) == (None, None)


def test_percentiles_interpolate_between_the_closest_ranks():
    assert percentile(GINA_HOURS, 0.5) == pytest.approx(6.5)
    assert percentile(GINA_HOURS, 0.9) == pytest.approx(19.0)
    assert percentile([5], 0.9) == 5
    assert percentile([], 0.5) is None


# --- the hand-computed fixture -------------------------------------------------------------------


def test_each_grader_has_the_hand_computed_kappa_sensitivity_and_specificity(march):
    by_name, _ = figures_by_name(march_filters(march))
    gina, greg, sophie = by_name["gina"], by_name["greg"], by_name["sophie"]
    assert (gina.compared, round(gina.kappa, 3)) == (10, 0.492)
    assert (round(gina.sensitivity, 3), round(gina.specificity, 3)) == (0.667, 0.857)
    assert (greg.compared, round(greg.kappa, 3)) == (10, 0.836)
    assert (round(greg.sensitivity, 3), round(greg.specificity, 3)) == (1.0, 0.857)
    assert (sophie.compared, sophie.kappa, sophie.sensitivity) == (0, None, None)


def test_all_graders_pool_their_compared_gradings(march):
    _, everyone = figures_by_name(march_filters(march))
    assert (everyone.compared, round(everyone.kappa, 3)) == (20, 0.667)
    assert (round(everyone.sensitivity, 3), round(everyone.specificity, 3)) == (0.833, 0.857)
    assert (everyone.examinations, everyone.first, everyone.second, everyone.arbitration) == (
        12,
        12,
        10,
        3,
    )


def test_each_grader_has_the_hand_computed_counts_and_turnaround(march):
    by_name, _ = figures_by_name(march_filters(march))
    counts = {
        name: (r.examinations, r.first, r.second, r.arbitration) for name, r in by_name.items()
    }
    assert counts == {
        "gina": (12, 12, 0, 0),
        "greg": (10, 0, 10, 0),
        "sophie": (3, 0, 0, 3),
    }
    hours = {name: (r.median_hours, round(r.p90_hours, 3)) for name, r in by_name.items()}
    assert hours == {"gina": (6.5, 19.0), "greg": (3.0, 9.6), "sophie": (3.0, 4.6)}


def test_the_ungradable_rate_of_a_lab_unit_is_its_share_of_re_imaged_examinations(march):
    rates = quality.ungradable_by_lab_unit(march_filters(march))
    assert [(r.label, r.decided, r.ungradable) for r in rates] == [("Retina (St Lucia)", 12, 2)]
    assert round(rates[0].share, 4) == 0.1667


# --- what is in and out of the count -------------------------------------------------------------


def test_gradings_outside_the_period_are_not_counted(march):
    by_name, _ = figures_by_name(march_filters(march, date_from=date(2026, 3, 9)))
    # Exams 7–12 were created from 9 March on; gina graded 1–6 before it (1 + 6 days + hours).
    assert by_name["gina"].first == 6
    assert figures_by_name(march_filters(march, date_to=date(2026, 2, 28))) == ({}, _empty())


def _empty():
    return quality.GraderFigures(None, "All graders")


def test_the_last_day_of_the_period_is_included(march):
    last = ExamGrading.objects.filter(role=Role.PRIMARY).order_by("-created_at").first()
    day = last.created_at.date()
    by_name, _ = figures_by_name(march_filters(march, date_from=day, date_to=day))
    assert by_name["gina"].first == 1


def test_other_lab_units_are_not_counted(march):
    bobs = add_exam(march, 99, T0, lab_unit=march.outpatients)
    add_grading(bobs, Role.PRIMARY, march.bob, "recall_12", T0 + timedelta(hours=1))
    by_name, everyone = figures_by_name(march_filters(march))
    assert "bob" not in by_name and everyone.first == 12
    only_outpatients = march_filters(march, lab_unit_ids=(march.outpatients.pk,))
    assert list(figures_by_name(only_outpatients)[0]) == ["bob"]


def test_a_programme_filter_keeps_only_its_examinations(march):
    glaucoma = Programme.objects.get(name="Glaucoma screening")
    assert figures_by_name(march_filters(march, programme_id=glaucoma.pk))[0] == {}
    dr = Programme.objects.get(name="Diabetic eye screening")
    assert figures_by_name(march_filters(march, programme_id=dr.pk))[0]["gina"].first == 12


def test_revisions_and_pre_graded_sets_are_not_counted(march):
    exam = Examination.objects.get(group_key="qa:1")
    revision = add_grading(exam, Role.REVISION, march.sophie, "refer_soon", T0 + timedelta(days=3))
    add_grading(exam, Role.PRE_GRADED, march.greg, "graded_elsewhere", T0 + timedelta(days=3))
    by_name, _ = figures_by_name(march_filters(march))
    assert (by_name["sophie"].examinations, by_name["greg"].examinations) == (3, 10)
    # The revision is the final grading now: exam 1's final outcome is refer_soon.
    decide(exam, revision, T0 + timedelta(days=3))
    by_name, _ = figures_by_name(march_filters(march))
    assert round(by_name["gina"].sensitivity, 3) == 0.5  # 2 of 4 referable found


def test_a_revised_arbitration_is_compared_with_the_revision(march):
    exam = Examination.objects.get(group_key="qa:10")
    revision = add_grading(exam, Role.REVISION, march.gina, "reimage", T0 + timedelta(days=20))
    decide(exam, revision, T0 + timedelta(days=20))
    sophie = figures_by_name(march_filters(march))[0]["sophie"]
    assert (sophie.compared, sophie.outcomes) == (1, [("reimage", "reimage")])


def test_examinations_not_yet_decided_are_not_compared(graders):
    exam = add_exam(graders, 1, T0)
    add_grading(exam, Role.PRIMARY, graders.gina, "refer_soon", T0 + timedelta(hours=1))
    add_grading(exam, Role.SECONDARY, graders.greg, "recall_12", T0 + timedelta(hours=2))
    by_name, _ = figures_by_name(march_filters(graders))
    assert (by_name["gina"].first, by_name["gina"].compared, by_name["greg"].compared) == (1, 0, 0)
    assert by_name["greg"].hours == [1.0]


def test_a_removed_graders_gradings_are_kept_under_a_name_of_their_own(march):
    march.greg.delete()
    by_name, _ = figures_by_name(march_filters(march))
    assert by_name["(removed user)"].second == 10


# --- through the real workflow and stored images -------------------------------------------------


def dr(right="R0", left="R0"):
    return {"right": {"R": right, "M": "M0", "P": "P0"}, "left": {"R": left, "M": "M0", "P": "P0"}}


def test_a_disagreement_decided_by_arbitration_counts_for_both_graders(graders):
    exam = examination_of(graders, 1)
    workflow.record_grading(graders.gina, exam, dr("R2"))  # refer soon: a second grading
    workflow.record_grading(graders.greg, Examination.objects.get(pk=exam.pk), dr("R1"))
    workflow.record_grading(
        graders.sophie, Examination.objects.get(pk=exam.pk), dr("R2"), reason="blot haemorrhages"
    )
    today = Examination.objects.get(pk=exam.pk).decided_at.date()
    by_name, _ = figures_by_name(
        Filters(today, today, (graders.retina.pk,)),
    )
    assert by_name["gina"].outcomes == [("refer_soon", "refer_soon")]
    assert by_name["greg"].outcomes == [("recall_12", "refer_soon")]
    assert by_name["greg"].sensitivity == 0.0
    assert (by_name["sophie"].arbitration, by_name["sophie"].compared) == (1, 0)


def test_the_ungradable_rate_per_camera_counts_an_examination_for_each_of_its_cameras(graders):
    from fundushub.grading.examinations import file_image

    def exam_with(n, cameras, outcome):
        exam = None
        for k, (eye, camera) in enumerate(zip(("right", "left"), cameras, strict=False)):
            image = store_image(
                graders,
                n * 10 + k,
                area=getattr(graders, eye),
                camera=camera,
                subject_identifier=f"CAM-{n}",
            )
            exam = file_image(image)
        grading = add_grading(exam, Role.PRIMARY, graders.gina, outcome, T0)
        decide(exam, grading, T0)

    topcon, canon = graders.topcon, graders.canon
    exam_with(1, (topcon, topcon), "reimage")
    exam_with(2, (topcon, topcon), "recall_12")
    exam_with(3, (canon, canon), "reimage")
    exam_with(4, (topcon, canon), "recall_12")
    exam_with(5, (None,), "reimage")
    rates = quality.ungradable_by_camera(march_filters(graders))
    assert [(r.label, r.decided, r.ungradable) for r in rates] == [
        ("Canon CR-2", 2, 1),
        ("Topcon TRC-NW400", 3, 1),
        ("Camera not recorded", 1, 1),
    ]


def test_pre_graded_sets_and_undecided_examinations_have_no_ungradable_rate(graders):
    exam = add_exam(graders, 1, T0)
    grading = add_grading(exam, Role.PRE_GRADED, graders.alice, "graded_elsewhere", T0)
    decide(exam, grading, T0)
    add_exam(graders, 2, T0)
    assert quality.ungradable_by_lab_unit(march_filters(graders)) == []
    assert quality.ungradable_by_camera(march_filters(graders)) == []

"""A demo's examinations in every stage, made by the grading workflow itself.

The demo's images are filed into examinations, then the demo graders work a share of them the way
people would: claim, grade, second grading, arbitration. Nothing is written around the workflow,
so the demo shows (and exercises) what the real code does. Older visits are decided, newer ones
still on their way: waiting for a second grading or an arbiter, claimed, or not graded yet.
"""

import random
from collections import Counter

from fundushub.accounts import roles
from fundushub.accounts.models import User
from fundushub.grading import workflow
from fundushub.grading.examinations import file_unfiled
from fundushub.grading.models import Examination, Stage
from fundushub.grading.outcomes import EYES, form_of

# What becomes of an examination, oldest visits first, with its share in per cent; what is left
# after these waits for its first grading.
PLANS = [
    ("single", 27),  # one grading decides (or a QA second grading agrees)
    ("agreed", 11),  # referable: the second grader agrees
    ("arbitrated", 7),  # the graders disagree, a senior grader decides
    ("arbitration", 8),  # ... and waits for the senior grader
    ("second", 12),  # waits for its second grading
    ("claimed", 5),  # a grader is on it
]
REASONS = [
    "Reviewed both gradings against the images: the first grader's reading stands.",
    "Both eyes reviewed at full quality: the second grader's reading stands.",
]


def work_demo_examinations(seed: int = 1) -> Counter:
    """File every unfiled image, then take the examinations waiting for their first grading in
    lab units with two graders and a senior grader through the workflow; returns how many
    examinations each stage holds afterwards."""
    file_unfiled()
    rng = random.Random(seed)
    staff = _graders_by_unit()
    waiting = Examination.objects.filter(
        stage=Stage.PRIMARY, lab_unit__in=list(staff), programme__isnull=False
    ).select_related("programme__scheme")
    exams = list(waiting.order_by("visit_date", "created_at", "id"))
    forms = {}
    for exam, plan in zip(exams, _plans(len(exams), rng), strict=True):
        scheme = exam.programme.scheme
        form = forms.setdefault(scheme.pk, form_of(scheme))
        _work(exam, plan, form, staff[exam.lab_unit_id], rng)
    return Counter(Examination.objects.values_list("stage", flat=True))


def _graders_by_unit() -> dict[int, tuple[list, list]]:
    """Lab unit id -> (graders, senior graders) assigned there, where there are two graders
    (senior ones count) and a senior grader: enough for every stage."""
    people = {}
    role_names = (roles.GRADER, roles.SENIOR_GRADER)
    for user in User.objects.filter(groups__name__in=role_names).distinct().order_by("username"):
        senior = workflow.may_arbitrate(user)
        for unit_id in user.lab_units.values_list("pk", flat=True):
            graders, seniors = people.setdefault(unit_id, ([], []))
            (seniors if senior else graders).append(user)
    return {
        unit: (graders, seniors)
        for unit, (graders, seniors) in people.items()
        if seniors and len(graders) + len(seniors) >= 2
    }


def _plans(n: int, rng: random.Random) -> list[str]:
    """n plans, oldest visit first: the decided ones (shuffled), then those under way, then the
    ones waiting for a first grading; every plan at least once when n allows."""
    if n <= len(PLANS):
        return [plan for plan, _ in PLANS][:n]
    counts = {plan: max(1, n * share // 100) for plan, share in PLANS}
    decided = [p for p in ("single", "agreed", "arbitrated") for _ in range(counts[p])]
    rng.shuffle(decided)
    under_way = [p for p in ("arbitration", "second", "claimed") for _ in range(counts[p])]
    return decided + under_way + ["waiting"] * (n - len(decided) - len(under_way))


def _work(exam: Examination, plan: str, form: list[dict], staff, rng: random.Random) -> None:
    graders, seniors = staff
    if plan == "waiting":
        return
    everyone = graders + seniors
    if plan == "claimed":
        workflow.claim(rng.choice(everyone), exam)
        return
    # Senior graders grade first only where no second grading follows, so that one is free to
    # arbitrate (never the first or second grader); the first-named grader (the demo's "grader")
    # gets the second gradings left waiting.
    if plan == "single":
        first = rng.choice(everyone)
    else:
        first = rng.choice((graders[1:] if plan == "second" else graders) or seniors)
    kind = "referable" if plan != "single" else rng.choice(["clear", "clear", "mild", "ungradable"])
    first_values = demo_values(form, kind, rng)
    exam = _grade(first, exam, first_values)
    if exam.stage != Stage.SECONDARY or plan == "second":
        return
    second = rng.choice([u for u in graders if u != first] or [u for u in seniors if u != first])
    disagree = plan in ("arbitrated", "arbitration")
    exam = _grade(second, exam, demo_values(form, "clear", rng) if disagree else first_values)
    if exam.stage != Stage.ARBITRATION or plan == "arbitration":
        return
    arbiter = rng.choice([u for u in seniors if u not in (first, second)] or seniors)
    upheld = rng.randrange(2)
    final = first_values if upheld == 0 else exam.gradings.order_by("-pk").first().values
    _grade(arbiter, exam, final, reason=REASONS[upheld])


def _grade(user, exam: Examination, values: dict, reason: str = "") -> Examination:
    """Claim, grade and save as the grading page does; the examination as it now is."""
    if workflow.claim(user, exam):
        workflow.record_grading(user, exam, values, reason=reason)
    return Examination.objects.select_related("programme__scheme").get(pk=exam.pk)


def demo_values(form: list[dict], kind: str, rng: random.Random) -> dict:
    """Per-eye values of the scheme's form: "clear" (the first value of every field), "mild"
    (a non-referable finding in the main field), "ungradable" (one eye), or "referable" (a
    referable finding in one eye, of any field)."""
    values = {eye: {f["code"]: f["values"][0]["code"] for f in form} for eye in EYES}
    main = form[0]
    if kind == "mild":
        picks = [(main["code"], v) for v in main["values"][1:] if not _special(v)]
    elif kind == "ungradable":
        picks = [(main["code"], v) for v in main["values"] if v["ungradable"]]
    elif kind == "referable":
        picks = [(f["code"], v) for f in form for v in f["values"] if v["referable"]]
    else:
        picks = []
    if picks:
        field, value = rng.choice(picks)
        for eye in rng.choice([EYES, EYES[:1], EYES[1:]]):
            values[eye][field] = value["code"]
    return values


def _special(value: dict) -> bool:
    return value["referable"] or value["ungradable"]

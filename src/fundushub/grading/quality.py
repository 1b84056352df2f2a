"""Quality assurance figures: per grader and period, how much they graded, how fast, and how well
they agree with the final grade; and how often examinations end ungradable, per lab unit and camera.

How each figure is counted (the page says the same in words):
- Gradings: first, second and arbitration gradings recorded in the period (their created_at, local
  days, both ends included), of examinations in the chosen lab units and programme. Revisions and
  pre-graded sets are not counted: neither is work from a worklist.
- Turnaround: hours from the examination entering the grader's stage to their grading. A first
  grading's stage begins when the examination is created; the examination keeps only the start of
  its current stage, so a second grading's stage is taken to begin when the first grading was
  recorded, and an arbitration's when the second grading was (the grading that moved it on).
- Agreement (kappa, sensitivity, specificity): the grader's outcome against the examination's final
  outcome, over decided examinations that were graded twice. A single grading is the final one by
  construction and would agree with itself; for the same reason an arbitration that is still the
  final grading is left out. Referable means an outcome that refers to the eye clinic.
- Ungradable rate: share of the examinations decided in the period whose final outcome is
  "Ungradable: re-image"; per camera, an examination counts for each camera its images came from.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from math import floor

from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils import timezone

from fundushub.grading.models import ExamGrading, Examination, Outcome, Role

COUNTED_ROLES = (Role.PRIMARY, Role.SECONDARY, Role.ARBITRATION)
REMOVED_USER = "(removed user)"
NO_CAMERA = "Camera not recorded"


# --- the statistics, small enough to check by hand -------------------------------------------


def cohen_kappa(pairs) -> float | None:
    """Unweighted Cohen's kappa of (rater A, rater B) category pairs: (p_o − p_e) / (1 − p_e).

    None when it is undefined: no pairs, or p_e = 1 (both raters put every case in one and the
    same category, so agreement beyond chance cannot be measured)."""
    pairs = list(pairs)
    n = len(pairs)
    if n == 0:
        return None
    rows = Counter(a for a, _ in pairs)
    cols = Counter(b for _, b in pairs)
    chance = sum(rows[k] * cols[k] for k in rows)  # p_e · n², kept in integers
    if chance == n * n:
        return None
    p_o = sum(a == b for a, b in pairs) / n
    p_e = chance / (n * n)
    return (p_o - p_e) / (1 - p_e)


def sensitivity_specificity(pairs) -> tuple[float | None, float | None]:
    """(sensitivity, specificity) of (test says positive, truth is positive) pairs; each None
    when there is nothing to divide by (no true positives or no true negatives to find)."""
    tp = fn = tn = fp = 0
    for said, truth in pairs:
        if truth:
            tp, fn = tp + bool(said), fn + (not said)
        else:
            tn, fp = tn + (not said), fp + bool(said)
    sensitivity = tp / (tp + fn) if tp + fn else None
    specificity = tn / (tn + fp) if tn + fp else None
    return sensitivity, specificity


def percentile(values, q: float) -> float | None:
    """The q-quantile (0–1) by linear interpolation between the closest ranks (numpy's default):
    position (n − 1)·q in the sorted values. The median is percentile(values, 0.5)."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    low = floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- what is counted ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """A period of local days (both ends included), the lab units in scope and maybe a programme."""

    date_from: date
    date_to: date
    lab_unit_ids: tuple[int, ...]
    programme_id: int | None = None

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        zone = timezone.get_current_timezone()
        start = datetime.combine(self.date_from, time.min, tzinfo=zone)
        end = datetime.combine(self.date_to + timedelta(days=1), time.min, tzinfo=zone)
        return start, end


@dataclass
class GraderFigures:
    grader_id: int | None
    name: str
    examinations: int = 0
    first: int = 0
    second: int = 0
    arbitration: int = 0
    hours: list = field(default_factory=list, repr=False)
    outcomes: list = field(default_factory=list, repr=False)  # (grader's, final)
    referrals: list = field(default_factory=list, repr=False)  # (grader's referable, final)

    @property
    def median_hours(self):
        return percentile(self.hours, 0.5)

    @property
    def p90_hours(self):
        return percentile(self.hours, 0.9)

    @property
    def compared(self) -> int:
        return len(self.outcomes)

    @property
    def kappa(self):
        return cohen_kappa(self.outcomes)

    @property
    def sensitivity(self):
        return sensitivity_specificity(self.referrals)[0]

    @property
    def specificity(self):
        return sensitivity_specificity(self.referrals)[1]


def _examinations(filters: Filters, prefix: str = ""):
    """Q for the examinations in scope (prefix: the path from the queried model to them)."""
    q = Q(**{f"{prefix}lab_unit_id__in": filters.lab_unit_ids})
    if filters.programme_id is not None:
        q &= Q(**{f"{prefix}programme_id": filters.programme_id})
    return q


def gradings(filters: Filters):
    """The counted gradings of the period, each with when its stage began and whether (and how)
    its examination was decided after two gradings."""
    start, end = filters.bounds
    # The grading that moved the examination into this one's stage: the latest earlier first or
    # second grading of the same examination (rows are only added, so pk order is time order).
    previous = ExamGrading.objects.filter(
        examination_id=OuterRef("examination_id"),
        role__in=(Role.PRIMARY, Role.SECONDARY),
        pk__lt=OuterRef("pk"),
    ).order_by("-pk")
    second = ExamGrading.objects.filter(
        examination_id=OuterRef("examination_id"), role=Role.SECONDARY
    )
    return (
        ExamGrading.objects.filter(
            _examinations(filters, "examination__"),
            role__in=COUNTED_ROLES,
            created_at__gte=start,
            created_at__lt=end,
        )
        .annotate(stage_began=Subquery(previous.values("created_at")[:1]), twice=Exists(second))
        .order_by()
    )


_COLUMNS = (
    "pk",
    "grader_id",
    "grader__username",
    "role",
    "examination_id",
    "created_at",
    "examination__created_at",
    "stage_began",
    "twice",
    "outcome",
    "referable",
    "examination__outcome",
    "examination__referable",
    "examination__final_grading_id",
)


def grader_figures(filters: Filters) -> tuple[list[GraderFigures], GraderFigures]:
    """One row per grader who graded in the period (by name), and the row of all of them."""
    graders: dict[int | None, GraderFigures] = {}
    everyone = GraderFigures(None, "All graders")
    seen: dict[int | None, set] = defaultdict(set)
    seen_by_anyone = set()
    for values in gradings(filters).values_list(*_COLUMNS).iterator(chunk_size=2000):
        g = dict(zip(_COLUMNS, values, strict=True))
        who = g["grader_id"]
        if who not in graders:
            graders[who] = GraderFigures(who, g["grader__username"] or REMOVED_USER)
        seen[who].add(g["examination_id"])
        seen_by_anyone.add(g["examination_id"])
        _count(graders[who], g)
        _count(everyone, g)
    for who, row in graders.items():
        row.examinations = len(seen[who])
    everyone.examinations = len(seen_by_anyone)
    return sorted(graders.values(), key=lambda r: (r.name.lower(), r.grader_id or 0)), everyone


def _count(row: GraderFigures, g: dict) -> None:
    role = g["role"]
    if role == Role.PRIMARY:
        row.first += 1
        began = g["examination__created_at"]
    else:
        row.second += role == Role.SECONDARY
        row.arbitration += role == Role.ARBITRATION
        began = g["stage_began"]
    if began is not None:
        row.hours.append(max(0.0, (g["created_at"] - began).total_seconds() / 3600))
    if _compared(g):
        row.outcomes.append((g["outcome"], g["examination__outcome"]))
        row.referrals.append((g["referable"], bool(g["examination__referable"])))


def _compared(g: dict) -> bool:
    """Whether this grading counts towards agreement (see the module's docstring)."""
    final = g["examination__final_grading_id"]
    decided = final is not None and g["examination__outcome"] not in ("", Outcome.GRADED_ELSEWHERE)
    if not (decided and g["twice"]):
        return False
    return not (g["role"] == Role.ARBITRATION and final == g["pk"])


# --- ungradable rates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    label: str
    decided: int
    ungradable: int

    @property
    def share(self) -> float | None:
        return self.ungradable / self.decided if self.decided else None


def decided_examinations(filters: Filters):
    """Examinations whose outcome the workflow decided in the period (pre-graded sets are not)."""
    start, end = filters.bounds
    return (
        Examination.objects.filter(
            _examinations(filters),
            final_grading__isnull=False,
            decided_at__gte=start,
            decided_at__lt=end,
        )
        .exclude(outcome__in=("", Outcome.GRADED_ELSEWHERE))
        .order_by()
    )


def ungradable_by_lab_unit(filters: Filters) -> list[Rate]:
    reimage = Q(outcome=Outcome.REIMAGE)
    rows = (
        decided_examinations(filters)
        .values("lab_unit_id", "lab_unit__name", "lab_unit__hospital__name")
        .annotate(decided=Count("id"), ungradable=Count("id", filter=reimage))
        .order_by("lab_unit__hospital__name", "lab_unit__name")
    )
    return [
        Rate(
            f"{r['lab_unit__name']} ({r['lab_unit__hospital__name']})",
            r["decided"],
            r["ungradable"],
        )
        for r in rows
    ]


def ungradable_by_camera(filters: Filters) -> list[Rate]:
    reimage = Q(outcome=Outcome.REIMAGE)
    rows = (
        decided_examinations(filters)
        .values("image_links__image__camera_id", "image_links__image__camera__name")
        .annotate(
            decided=Count("id", distinct=True),
            ungradable=Count("id", distinct=True, filter=reimage),
        )
        .order_by("image_links__image__camera__name")
    )
    rates = [
        Rate(r["image_links__image__camera__name"] or NO_CAMERA, r["decided"], r["ungradable"])
        for r in rows
    ]
    return sorted(rates, key=lambda r: (r.label == NO_CAMERA, r.label.lower()))

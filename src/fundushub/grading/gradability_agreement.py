"""A graded image's human "U" beside the automatic gradability verdict, so that their agreement
can be reported (issue 15, item 1).

Counted: the images of the examinations decided in the period (as for the ungradable rate:
decided_at in the period, in the chosen lab units and programme, pre-graded sets left out) whose
eye is known (right or left). The human side: the examination's final grading gives that eye a
value its scheme marks ungradable (U in R, G or A …) in any field. The automatic side: the image's
gradability result, good, usable or ungradable. They agree when U meets "ungradable", and when no
U meets "good" or "usable". An image without such a result (not checked, or the check failed) or
whose eye the final grading does not grade is not compared, and counted as such.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from fundushub.checks.models import ImageCheck
from fundushub.grading.models import ExaminationImage, SchemeValue
from fundushub.grading.outcomes import EYES
from fundushub.grading.quality import Filters, decided_examinations

VERDICTS = ("good", "usable", "ungradable")
CHECK = "gradability"


@dataclass
class Agreement:
    """The 2×3 table of one period: graded U or not, against the automatic verdict."""

    month: date | None  # None: the whole period
    counts: dict = field(default_factory=dict)  # (human U, verdict) -> images
    not_compared: int = 0

    def count(self, human_u: bool, verdict: str) -> int:
        return self.counts.get((human_u, verdict), 0)

    @property
    def rows(self) -> list[tuple[str, list[int]]]:
        return [
            ("Graded U", [self.count(True, v) for v in VERDICTS]),
            ("Graded, not U", [self.count(False, v) for v in VERDICTS]),
        ]

    @property
    def compared(self) -> int:
        return sum(self.counts.values())

    @property
    def agreed(self) -> int:
        return (
            self.count(True, "ungradable") + self.count(False, "good") + self.count(False, "usable")
        )

    @property
    def share(self) -> float | None:
        return self.agreed / self.compared if self.compared else None

    @property
    def percent(self) -> float | None:
        return None if self.share is None else 100 * self.share

    @property
    def missed(self) -> int:
        """Graded U, but the check found the image good or usable."""
        return self.count(True, "good") + self.count(True, "usable")

    @property
    def false_alarms(self) -> int:
        """Not graded U, but the check called the image ungradable."""
        return self.count(False, "ungradable")

    def add(self, human_u: bool | None, verdict: str | None) -> None:
        if human_u is None or verdict not in VERDICTS:
            self.not_compared += 1
        else:
            self.counts[(human_u, verdict)] = self.count(human_u, verdict) + 1


def agreement(filters: Filters) -> tuple[list[Agreement], Agreement]:
    """Per month of decision (oldest first) and for the whole period, in two queries."""
    ungradable = set(
        SchemeValue.objects.filter(ungradable=True).values_list(
            "field__scheme_id", "field__code", "code"
        )
    )
    verdict = ImageCheck.objects.filter(image_id=OuterRef("image_id"), name=CHECK).values(
        "verdict"
    )[:1]
    images = (
        ExaminationImage.objects.filter(
            examination__in=decided_examinations(filters), image__area__code__in=EYES
        )
        .annotate(verdict=Subquery(verdict))
        .values_list(
            "image__area__code",
            "examination__decided_at",
            "examination__final_grading__values",
            "examination__final_grading__scheme_id",
            "examination__programme__scheme_id",
            "verdict",
        )
        .order_by()
    )
    whole = Agreement(None)
    months: dict[date, Agreement] = {}
    zone = timezone.get_current_timezone()
    for eye, decided_at, values, scheme_id, programme_scheme_id, found in images.iterator(
        chunk_size=2000
    ):
        human_u = graded_u(values, eye, scheme_id or programme_scheme_id, ungradable)
        month = timezone.localtime(decided_at, zone).date().replace(day=1)
        months.setdefault(month, Agreement(month)).add(human_u, found)
        whole.add(human_u, found)
    return [months[m] for m in sorted(months)], whole


def graded_u(values, eye: str, scheme_id, ungradable: set) -> bool | None:
    """Whether the grading gives this eye an ungradable value; None when it grades no such eye."""
    given = values.get(eye) if isinstance(values, dict) else None
    if not isinstance(given, dict) or not given:
        return None
    return any((scheme_id, code, value) in ungradable for code, value in given.items())

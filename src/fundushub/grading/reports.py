"""The reports a camera sent with an examination's images, as grading sees them.

Camera sessions (and their PDF or HTML reports) belong to the camera API, which grading may not
import; so the camera registers its answer here in its AppConfig.ready(), and the examination
page asks through this module. With nothing registered an examination has no reports.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Report:
    name: str  # what the page calls it, e.g. "Report (both eyes)"
    url: str  # an authorised download route of the app that keeps the file
    filename: str = ""
    received_at: datetime | None = None


# (examination) -> its reports; one query per answer, whatever the number of reports.
Answer = Callable[[object], list[Report]]
_answers: list[Answer] = []


def register(answer: Answer) -> Answer:
    if answer not in _answers:
        _answers.append(answer)
    return answer


def reports_for(examination) -> list[Report]:
    found = [report for answer in _answers for report in answer(examination)]
    return sorted(found, key=lambda r: (r.received_at is None, r.received_at, r.name))

"""CSV export of decided outcomes per period (the day each was decided) and lab unit, streamed
in keyset chunks: each chunk a short query walking (decided_at, id), so nothing holds a cursor
open while the client reads and memory stays flat whatever the period."""

import csv
from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone

from fundushub.grading.models import SchemeField, Stage
from fundushub.grading.outcomes import outcome_label, summary
from fundushub.lib.spreadsheet import Echo, safe

CHUNK = 2000
COLUMNS = [
    "examination_id",
    "subject",
    "visit_date",
    "hospital",
    "lab_unit",
    "programme",
    "stage",
    "outcome_code",
    "outcome_label",
    "rule",
    "referable",
    "decided_at",
    "decided_by",
    "right_eye_grade",
    "left_eye_grade",
]
_FIELDS = [
    "id",
    "subject_identifier",
    "visit_date",
    "hospital__name",
    "lab_unit__name",
    "programme__name",
    "stage",
    "outcome",
    "outcome_rule",
    "referable",
    "decided_at",
    "decided_by__username",
    "final_grading__grader__username",
    "final_grading__values",
    "final_grading__scheme_id",
]


class BadPeriod(ValueError):
    """The period or lab unit asked for cannot be read; the message says why."""


def period(raw_from: str, raw_to: str, today: date) -> tuple[date, date]:
    """From/to as days (inclusive); missing: this month so far."""
    start = _day(raw_from, "from") or today.replace(day=1)
    end = _day(raw_to, "to") or today
    if start > end:
        raise BadPeriod("The period starts after it ends: 'from' must be on or before 'to'.")
    return start, end


def _day(raw: str, name: str) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadPeriod(f"'{name}' must be a date as YYYY-MM-DD (got {raw[:20]!r}).") from None


def decided_in(examinations, start: date, end: date):
    tz = timezone.get_current_timezone()
    since = datetime.combine(start, time.min, tzinfo=tz)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    return examinations.filter(stage=Stage.DONE, decided_at__gte=since, decided_at__lt=until)


def rows(examinations):
    """The header, then one line per examination, oldest decision first."""
    writer = csv.writer(Echo())
    yield writer.writerow(COLUMNS)
    after = None
    orders = _field_orders()
    while True:
        chunk = examinations.order_by("decided_at", "id")
        if after is not None:
            at, pk = after
            chunk = chunk.filter(Q(decided_at__gt=at) | Q(decided_at=at, id__gt=pk))
        chunk = list(chunk.values_list(*_FIELDS)[:CHUNK])
        for row in chunk:
            yield writer.writerow([safe(cell) for cell in _cells(row, orders)])
        if len(chunk) < CHUNK:
            return
        after = (chunk[-1][10], chunk[-1][0])


def _field_orders() -> dict:
    """{scheme id: its field codes in order}, for every scheme at once (a handful of rows)."""
    orders: dict = {}
    for scheme_id, code in SchemeField.objects.order_by("scheme", "position", "code").values_list(
        "scheme_id", "code"
    ):
        orders.setdefault(scheme_id, []).append(code)
    return orders


def _cells(row, orders: dict) -> list:
    (pk, subject, visit, hospital, unit, programme, stage, outcome, rule, referable, at,
     decider, grader, values, scheme_id) = row  # fmt: skip
    values = values or {}
    order = orders.get(scheme_id, ())
    label = outcome_label(outcome)
    return [
        str(pk),
        subject,
        visit.isoformat(),
        hospital,
        unit,
        programme,
        stage,
        outcome,
        label,
        rule,
        referable,
        timezone.localtime(at).isoformat(timespec="seconds") if at else "",
        decider or grader or "",
        summary(values, "right", order),
        summary(values, "left", order),
    ]

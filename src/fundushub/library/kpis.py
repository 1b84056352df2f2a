"""KPI cards on the filtered set: one SQL statement, everything else derived in Python.

The statement returns (camera, disease, area, n) rows, at most (cameras+1) × (diseases+1) ×
(areas+1) per part however many images match; the total and each top-3 breakdown are sums over
them. They are summed from image counts kept by database triggers (store.models: ImageCount, and
DatedImageCount's monthly and daily rows for a date range), so the cards cost about the same at
any number of images. A date range is its whole UTC months and days from the counts plus, where the
site's midnight is not UTC's, the images of the part-days at its ends, all in the same statement
(UNION ALL). A filter the counts do not keep (an upload job, a check's flag) counts the images
themselves.
"""

import functools
import operator
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, Q, Sum

from fundushub.library import dashboard as board
from fundushub.store.models import DatedImageCount, ImageCount

TOP = 3
NOT_SET = "Not set"
# Filters the image counts do not keep: with one of them the images themselves are counted.
NOT_COUNTED = ("job", "check")


@dataclass
class Entry:
    name: str
    count: int
    value: str  # the filter value that selects exactly these images ("none" for not set)
    href: str = ""  # the dashboard narrowed to them (set by the view's links)


@dataclass
class Breakdown:
    title: str
    param: str  # the dashboard filter that selects one of its values
    distinct: int  # how many different values (not set counts as one)
    top: list  # [Entry], the TOP most common
    rest_kinds: int  # values beyond the top ones
    rest_count: int  # images with those values


@dataclass
class Kpis:
    total: int
    breakdowns: list  # cameras, diseases, areas


def compute(user, filters, options) -> Kpis:
    """The cards for the images the dashboard shows this user with these filters."""
    cameras, diseases, areas = Counter(), Counter(), Counter()
    total = 0
    for camera, disease, area, n in counted(user, filters):
        cameras[camera] += n
        diseases[disease] += n
        areas[area] += n
        total += n
    disease_names = {pk: code for pk, (code, _name) in options.diseases.items()}
    return Kpis(
        total=total,
        breakdowns=[
            _breakdown("Cameras", "camera", cameras, options.cameras),
            _breakdown("Diseases", "disease", diseases, disease_names),
            _breakdown("Areas", "area", areas, options.areas),
        ],
    )


def _breakdown(title: str, param: str, counts: Counter, names: dict) -> Breakdown:
    # Most common first; ties by name so the cards do not shuffle between requests.
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], _name(kv[0], names)))
    top = [Entry(_name(pk, names), n, "none" if pk is None else str(pk)) for pk, n in ordered[:TOP]]
    rest = ordered[TOP:]
    return Breakdown(title, param, len(ordered), top, len(rest), sum(n for _, n in rest))


def _name(pk, names: dict) -> str:
    if pk is None:
        return NOT_SET
    return names.get(pk, f"#{pk}")


def counted(user, filters) -> list[tuple]:
    """[(camera id, disease id, area id, n)], None for not set; a key may come more than once."""
    if not user.is_authenticated:
        return []
    lower, upper = board.date_range(filters)
    first, end = _whole_days(lower, upper)
    if any(name in filters.values for name in NOT_COUNTED) or (first and end and first >= end):
        parts = [_grouped(board.filtered_images(user, filters))]
    elif lower is None and upper is None:
        parts = [_summed(ImageCount.objects, user, filters)]
    else:
        parts = _dated_counts(user, filters, first, end)
        images = board.filtered_images(user, filters, dates=False)
        for since, until in _part_days(lower, upper, first, end):
            parts.append(_grouped(images.filter(created_at__gte=since, created_at__lt=until)))
    query = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return [
        (camera or None, disease or None, area or None, n) for camera, disease, area, n in query
    ]


def _whole_days(lower, upper) -> tuple[date | None, date | None]:
    """[first, end): the UTC days wholly inside [lower, upper) (None: that side is open)."""
    first = end = None
    if lower is not None:
        first = lower.astimezone(UTC).date()
        first += timedelta(days=0 if _midnight(first) == lower else 1)
    if upper is not None:
        end = upper.astimezone(UTC).date()
    return first, end


def _part_days(lower, upper, first, end) -> list[tuple[datetime, datetime]]:
    """The parts of [lower, upper) outside the whole UTC days [first, end)."""
    parts = []
    if lower is not None and lower < _midnight(first):
        parts.append((lower, _midnight(first)))
    if upper is not None and _midnight(end) < upper:
        parts.append((_midnight(end), upper))
    return parts


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _dated_counts(user, filters, first, end) -> list:
    """The days [first, end) from the dated counts: its whole months by their monthly rows, the
    days around them by their daily rows, in one read of one table."""
    start = first if first is None or first.day == 1 else _next_month(first)
    stop = None if end is None else end.replace(day=1)
    if start and stop and start >= stop:  # no whole month
        periods = [_period(False, first, end)]
    else:
        periods = [_period(True, start, stop)]
        if first is not None and first < start:
            periods.append(_period(False, first, start))
        if end is not None and stop < end:
            periods.append(_period(False, stop, end))
    dated = DatedImageCount.objects.filter(functools.reduce(operator.or_, periods))
    return [_summed(dated, user, filters)]


def _period(monthly: bool, since, until) -> Q:
    q = Q(monthly=monthly)
    if since is not None:
        q &= Q(start__gte=since)
    if until is not None:
        q &= Q(start__lt=until)
    return q


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _grouped(images):
    return (
        images.order_by().values_list("camera_id", "disease_id", "area_id").annotate(n=Count("*"))
    )


def _summed(counts, user, filters):
    """Counts in the user's scope, narrowed by every filter but the dates, summed by KPI key."""
    counts = counts.filter(
        Q(lab_unit_id__in=user.lab_units.values("pk")) | Q(uploaded_by_id=user.pk)
    )
    v = filters.values
    for name, column in board.COLUMNS.items():
        if name in v:
            counts = counts.filter(**{column: v[name] or 0})  # not set is 0 in the counts
    if "grading" in v:
        counts = counts.filter(grading_status=v["grading"])
    if "source" in v:
        counts = counts.filter(source=v["source"])
    return counts.order_by().values_list("camera_id", "disease_id", "area_id").annotate(n=Sum("n"))

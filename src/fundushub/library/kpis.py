"""KPI cards on the filtered set: one grouped query, everything else derived in Python.

Grouping by (camera, disease, area) returns at most (cameras+1) × (diseases+1) × (areas+1) rows
however many images match; the total and each top-3 breakdown are sums over those rows.
"""

from collections import Counter
from dataclasses import dataclass

from django.db.models import Count

TOP = 3
NOT_SET = "Not set"


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


def compute(images, options) -> Kpis:
    rows = (
        images.order_by().values_list("camera_id", "disease_id", "area_id").annotate(n=Count("*"))
    )
    cameras, diseases, areas = Counter(), Counter(), Counter()
    total = 0
    for camera, disease, area, n in rows:
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

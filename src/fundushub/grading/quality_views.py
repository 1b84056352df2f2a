"""The quality assurance page and its CSV: per-grader figures and ungradable rates for the
period, lab unit and programme chosen, within the viewer's own lab units."""

import csv
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from fundushub.accounts.roles import sees_quality
from fundushub.audit.models import record
from fundushub.catalog.models import LabUnit
from fundushub.grading import charts, gradability_agreement, quality
from fundushub.grading.models import Programme
from fundushub.lib.spreadsheet import Echo, safe

DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366  # a period's gradings are read into memory: three years is the most asked
CSV_COLUMNS = [
    "grader",
    "examinations",
    "first_gradings",
    "second_gradings",
    "arbitrations",
    "median_turnaround_hours",
    "p90_turnaround_hours",
    "compared",
    "kappa",
    "sensitivity",
    "specificity",
]
# The automatic gradability verdict against the graders' U: per month of decision, then "all".
AGREEMENT_COLUMNS = [
    "month",
    *(
        f"{side}_{verdict}"
        for side in ("graded_u", "graded_not_u")
        for verdict in gradability_agreement.VERDICTS
    ),
    "compared",
    "agreed",
    "agreement",
    "not_compared",
]


@dataclass
class Chosen:
    """The filters as asked (raw), their problems, and the Filters they make when there are none."""

    raw: dict
    lab_units: list
    programmes: list
    errors: dict = field(default_factory=dict)
    filters: quality.Filters | None = None

    @property
    def query(self) -> str:
        return urlencode({k: v for k, v in self.raw.items() if v})


def _day(raw: str, name: str, errors: dict) -> date | None:
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors[name] = "Enter a date as YYYY-MM-DD, e.g. 2026-03-31."
        return None
    if not 1900 <= day.year <= 2999:
        errors[name] = "Enter a date between 1900 and 2999."
        return None
    return day


def choose(request) -> Chosen:
    """Read the filters; a lab unit that is not the viewer's does not exist for them (404)."""
    user = request.user
    if not sees_quality(user):
        raise PermissionDenied
    today = timezone.localdate()
    params = request.GET
    raw = {
        "date_from": params.get("date_from", "").strip()
        or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "date_to": params.get("date_to", "").strip() or today.isoformat(),
        "lab_unit": params.get("lab_unit", "").strip(),
        "programme": params.get("programme", "").strip(),
    }
    lab_units = list(
        LabUnit.objects.filter(users=user)
        .select_related("hospital")
        .order_by("hospital__name", "name")
    )
    chosen = Chosen(raw, lab_units, list(Programme.objects.order_by("name")))
    errors = chosen.errors
    date_from = _day(raw["date_from"], "date_from", errors)
    date_to = _day(raw["date_to"], "date_to", errors)
    if date_from and date_to and date_from > date_to:
        errors["date_to"] = "The period must end on or after its first day."
    elif date_from and date_to and (date_to - date_from).days >= MAX_DAYS:
        errors["date_to"] = f"Choose a period of at most {MAX_DAYS} days (three years)."
    unit_ids = tuple(u.pk for u in lab_units)
    if raw["lab_unit"]:
        if not (raw["lab_unit"].isascii() and raw["lab_unit"].isdecimal()):
            errors["lab_unit"] = "Choose a lab unit from the list."
        elif int(raw["lab_unit"]) not in unit_ids:
            raise Http404("No such lab unit.")
        else:
            unit_ids = (int(raw["lab_unit"]),)
    programme_id = None
    if raw["programme"]:
        known = {str(p.pk): p.pk for p in chosen.programmes}
        programme_id = known.get(raw["programme"])
        if programme_id is None:
            errors["programme"] = "Choose a programme from the list."
    if not errors:
        chosen.filters = quality.Filters(date_from, date_to, unit_ids, programme_id)
    return chosen


# Landis and Koch's words for kappa, as programme reports use them.
KAPPA_WORDS = [(0.8, "almost perfect"), (0.6, "substantial"), (0.4, "moderate"), (0.2, "fair")]


def kappa_word(kappa: float) -> str:
    if kappa <= 0:
        return "poor"
    return next((word for floor, word in KAPPA_WORDS if kappa > floor), "slight")


def shown(row: quality.GraderFigures) -> dict:
    """A grader's figures as the page writes them ("—" where a figure cannot be computed)."""

    def hours(value):
        return "—" if value is None else f"{value:.1f} h"

    def share(value):
        return "—" if value is None else f"{value:.1%}"

    kappa = row.kappa
    if kappa is not None:
        kappa_note = kappa_word(kappa)
    else:
        kappa_note = "nothing to compare" if not row.compared else "one category only"
    return {
        "row": row,
        "median": hours(row.median_hours),
        "p90": hours(row.p90_hours),
        "kappa": "—" if kappa is None else f"{kappa:.2f}",
        "kappa_note": kappa_note,
        "sensitivity": share(row.sensitivity),
        "specificity": share(row.specificity),
    }


@require_GET
@login_required
def quality_page(request):
    chosen = choose(request)
    context = {"chosen": chosen, "max_days": MAX_DAYS}
    if chosen.filters is None:
        return render(request, "grading/quality.html", context, status=400)
    rows, everyone = quality.grader_figures(chosen.filters)
    by_unit = quality.ungradable_by_lab_unit(chosen.filters)
    by_camera = quality.ungradable_by_camera(chosen.filters)
    context.update(rows=[shown(r) for r in rows], everyone=shown(everyone))
    if rows:
        context["kappa_chart"] = charts.kappa_chart(rows)
    months, period = gradability_agreement.agreement(chosen.filters)
    context.update(agreement_months=months, agreement=period)
    if by_unit:  # decided examinations have cameras too (or "not recorded")
        context["unit_chart"] = charts.rate_chart(
            "unit-chart", "Ungradable rate per lab unit", by_unit
        )
        context["camera_chart"] = charts.rate_chart(
            "camera-chart", "Ungradable rate per camera", by_camera
        )
    return render(request, "grading/quality.html", context)


def _number(value, places: int):
    return "" if value is None else round(value, places)


def csv_rows(rows, everyone):
    writer = csv.writer(Echo())
    yield writer.writerow(CSV_COLUMNS)
    for r in [*rows, everyone]:
        # Only the name is text a spreadsheet could run; figures stay numbers (a kappa of −0.2
        # must not become the text '-0.2).
        yield writer.writerow(
            [
                safe(r.name),
                r.examinations,
                r.first,
                r.second,
                r.arbitration,
                _number(r.median_hours, 1),
                _number(r.p90_hours, 1),
                r.compared,
                _number(r.kappa, 3),
                _number(r.sensitivity, 3),
                _number(r.specificity, 3),
            ]
        )


@require_GET
@login_required
def quality_csv(request):
    chosen = choose(request)
    if chosen.filters is None:
        problems = " ".join(chosen.errors.values())
        return HttpResponse(problems, status=400, content_type="text/plain; charset=utf-8")
    f = chosen.filters
    rows, everyone = quality.grader_figures(f)
    record("grading.quality_exported", request=request, filters=chosen.raw, graders=len(rows))
    response = StreamingHttpResponse(
        csv_rows(rows, everyone), content_type="text/csv; charset=utf-8"
    )
    name = f"grading-quality-{f.date_from.isoformat()}-to-{f.date_to.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


def agreement_rows(months, period):
    writer = csv.writer(Echo())
    yield writer.writerow(AGREEMENT_COLUMNS)
    for a in [*months, period]:
        yield writer.writerow(
            [
                a.month.strftime("%Y-%m") if a.month else "all",
                *(count for _, counts in a.rows for count in counts),
                a.compared,
                a.agreed,
                _number(a.share, 3),
                a.not_compared,
            ]
        )


@require_GET
@login_required
def gradability_csv(request):
    """The automatic gradability verdict against the graders' U, per month and for the period."""
    chosen = choose(request)
    if chosen.filters is None:
        problems = " ".join(chosen.errors.values())
        return HttpResponse(problems, status=400, content_type="text/plain; charset=utf-8")
    f = chosen.filters
    months, period = gradability_agreement.agreement(f)
    record(
        "grading.gradability_exported", request=request, filters=chosen.raw, images=period.compared
    )
    response = StreamingHttpResponse(
        agreement_rows(months, period), content_type="text/csv; charset=utf-8"
    )
    name = f"gradability-agreement-{f.date_from.isoformat()}-to-{f.date_to.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response

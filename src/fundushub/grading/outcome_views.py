"""Outcomes out: the CSV export per period and lab unit, the printable result letter, and an
examination's JSON status for other systems."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from fundushub.accounts.roles import sees_quality
from fundushub.audit.models import record
from fundushub.grading import letters, outcomes_csv
from fundushub.grading.examination_page import decider_of, labelled
from fundushub.grading.examination_views import visible_examination_or_404
from fundushub.grading.models import Examination, Stage
from fundushub.grading.outcomes import form_of
from fundushub.grading.status import document
from fundushub.lib.decorators import json_login_required


def _refused(message: str, status: int = 400) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _outcome_exporter(view):
    """Outcomes of many patients at once: those who see the quality figures (senior graders,
    data managers, admins), as the menu offers it; a grader works one examination at a time."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not sees_quality(request.user):
            raise PermissionDenied("Exporting outcomes is for senior graders and data managers.")
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@login_required
@_outcome_exporter
def export_page(request):
    """The form that asks for the CSV: a period (this month so far unless changed) and a lab unit."""
    today = timezone.localdate()
    context = {
        "start": today.replace(day=1),
        "end": today,
        "lab_units": request.user.lab_units.select_related("hospital").order_by(
            "hospital__name", "name"
        ),
    }
    return render(request, "grading/outcomes_export.html", context)


@require_GET
@login_required
@_outcome_exporter
def export_csv(request):
    """?from=YYYY-MM-DD&to=YYYY-MM-DD (decision days, inclusive; default this month so far)
    &lab_unit=ID (one of the user's lab units; default all of them)."""
    try:
        start, end = outcomes_csv.period(
            request.GET.get("from", ""), request.GET.get("to", ""), timezone.localdate()
        )
    except outcomes_csv.BadPeriod as e:
        return _refused(str(e))
    exams = Examination.objects.visible_to(request.user)
    unit = request.GET.get("lab_unit", "").strip()
    if unit:
        if not unit.isdigit():
            return _refused("'lab_unit' must be a lab unit's id (a number).")
        if not request.user.lab_units.filter(pk=int(unit)).exists():
            return _refused("No such lab unit among yours.", status=404)
        exams = exams.filter(lab_unit_id=int(unit))
    exams = outcomes_csv.decided_in(exams, start, end)
    record(
        "examinations.outcomes_exported",
        request=request,
        period=[start.isoformat(), end.isoformat()],
        lab_unit=int(unit) if unit else None,
    )
    response = StreamingHttpResponse(
        outcomes_csv.rows(exams), content_type="text/csv; charset=utf-8"
    )
    name = f"outcomes-{start:%Y%m%d}-{end:%Y%m%d}{f'-unit{unit}' if unit else ''}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@login_required
def letter(request, exam_id):
    exam = visible_examination_or_404(request.user, exam_id)
    context = {"exam": exam, "decided": exam.stage == Stage.DONE and bool(exam.outcome)}
    if context["decided"]:
        form = form_of(exam.programme.scheme) if exam.programme_id else []
        eyes = labelled(exam.final_grading.values if exam.final_grading_id else {}, form)
        context.update(
            wording=letters.wording(exam.outcome),
            eyes=[("Right eye", eyes["right"]), ("Left eye", eyes["left"])],
            decider=decider_of(exam),
            today=timezone.localdate(),
        )
    return render(request, "grading/letter.html", context)


@require_GET
@json_login_required
def examination_api(request, exam_id):
    exam = (
        Examination.objects.visible_to(request.user)
        .select_related("hospital", "lab_unit", "programme", "decided_by", "final_grading__grader")
        .filter(pk=exam_id)
        .first()
    )
    if exam is None:
        return JsonResponse({"error": "Examination not found"}, status=404)
    return JsonResponse(document(request.user, exam))

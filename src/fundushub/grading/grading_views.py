"""The grading page of one examination: claimed on open, the scheme's form per eye, save (and
next), release, and a senior grader's revision of a decided outcome."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from fundushub.grading import grading_form, workflow, worklist
from fundushub.grading.models import Examination, Stage
from fundushub.grading.outcomes import InvalidGrading
from fundushub.grading.worklist_views import grade_url

NO_PROGRAMME = "This examination has no grading programme; ask an administrator to set one."


def _examination_or_404(user, exam_id) -> Examination:
    exams = Examination.objects.visible_to(user).select_related(
        "programme__scheme", "lab_unit__hospital", "claimed_by", "decided_by"
    )
    return get_object_or_404(exams, pk=exam_id)


def _back(request) -> str:
    query = worklist.parse_filters(request.GET).querystring()
    return reverse("grading-worklist") + (f"?{query}" if query else "")


def _render(request, exam, *, values=None, notes="", reason="", error="", status=200):
    user = request.user
    form = grading_form.form_for(exam)
    problem = NO_PROGRAMME if not exam.programme_id else workflow.why_not(user, exam)
    if exam.stage == Stage.DONE:
        mode = "decided"
        if values is None and exam.final_grading_id:
            values = exam.final_grading.values
    else:
        # After a failed save the form stays, with everything typed, beside the message.
        mode = "grade" if exam.programme_id and (error or not problem) else "blocked"
    arbitration = mode == "grade" and exam.stage == Stage.ARBITRATION
    images = grading_form.images_by_eye(exam)
    context = {
        "exam": exam,
        "mode": mode,
        "stage_word": worklist.STAGE_WORDS.get(exam.stage, "done"),
        "problem": problem,
        "held_by_other": problem == workflow.CLAIMED,
        "error": error,
        "eyes": grading_form.eyes_for(form, values or {}, images),
        "other_images": images["other"],
        "rules": grading_form.rules_json(exam.programme) if exam.programme_id else "[]",
        "compared": grading_form.gradings_compared(exam, form) if arbitration else None,
        "arbitration": arbitration,
        "final_rows": grading_form.final_values(exam, form) if mode == "decided" else [],
        "may_revise": mode == "decided" and exam.programme_id and workflow.may_arbitrate(user),
        "notes": notes,
        "reason": reason,
        "here": request.get_full_path(),
        "query": worklist.parse_filters(request.GET).querystring(),
        "back": _back(request),
    }
    return render(request, "grading/grade.html", context, status=status)


@login_required
@permission_required(workflow.GRADE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def grade(request, exam_id):
    exam = _examination_or_404(request.user, exam_id)
    if request.method == "POST":
        return _save(request, exam)
    if exam.stage != Stage.DONE and exam.programme_id:
        workflow.claim(request.user, exam)  # when refused, the page says why
    return _render(request, exam)


def _save(request, exam):
    values = grading_form.posted_values(request.POST, grading_form.form_for(exam))
    notes, reason = request.POST.get("notes", ""), request.POST.get("reason", "")
    kept = {"values": values, "notes": notes, "reason": reason}
    try:
        grading = workflow.record_grading(
            request.user, exam, values, notes=notes, reason=reason, request=request
        )
    except InvalidGrading as e:
        return _render(request, exam, **kept, error=str(e), status=400)
    except workflow.NotYours as e:
        return _render(request, exam, **kept, error=str(e), status=409)
    # record_grading moved the examination on in the instance its grading holds.
    messages.success(request, grading_form.saved_message(grading.examination, grading))
    if request.POST.get("then") == "next":
        filters = worklist.parse_filters(request.GET)
        following = worklist.next_for(request.user, filters, skip=exam.pk)
        if following is not None:
            return redirect(grade_url(following, filters))
        messages.info(request, "That was the last examination waiting for you.")
    return redirect(_back(request))


@login_required
@permission_required(workflow.GRADE, raise_exception=True)
@require_POST
def release(request, exam_id):
    """Give the claim back (Esc on the grading page) and return to the worklist."""
    exam = _examination_or_404(request.user, exam_id)
    workflow.release(request.user, exam)
    messages.info(request, f"Released {exam}: it is back on the worklist.")
    return redirect(_back(request))


@login_required
@permission_required(workflow.GRADE, raise_exception=True)
@require_POST
def revise(request, exam_id):
    """A senior grader revises a decided outcome, with a reason; every grading stays."""
    exam = _examination_or_404(request.user, exam_id)
    if not workflow.may_arbitrate(request.user):
        raise PermissionDenied("Only senior graders revise a decided outcome.")
    values = grading_form.posted_values(request.POST, grading_form.form_for(exam))
    reason = request.POST.get("reason", "")
    try:
        grading = workflow.revise(request.user, exam, values, reason, request=request)
    except InvalidGrading as e:
        return _render(request, exam, values=values, reason=reason, error=str(e), status=400)
    except workflow.NotYours as e:
        return _render(request, exam, values=values, reason=reason, error=str(e), status=409)
    messages.success(
        request,
        f"{exam}: outcome revised to {grading.get_outcome_display()} "
        f"(rule: {grading.outcome_rule}).",
    )
    return redirect(reverse("grading-grade", args=[exam.pk]))

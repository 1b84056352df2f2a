"""The worklist page and its "Start grading" button: parse the filters, ask grading/worklist.py,
render or redirect."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from fundushub.grading import worklist
from fundushub.grading.workflow import GRADE


def grade_url(exam, filters) -> str:
    """The examination's grading page, carrying the worklist's filters for "Save and next"."""
    url = reverse("grading-grade", args=[exam.pk])
    query = filters.querystring() if filters else ""
    return f"{url}?{query}" if query else url


@login_required
@permission_required(GRADE, raise_exception=True)
@require_GET
def worklist_page(request):
    user = request.user
    filters = worklist.parse_filters(request.GET)
    page, cursor_message = worklist.page_for(user, filters, request.GET)
    counts = worklist.counts(user, filters)
    here = reverse("grading-worklist")
    context = {
        "filters": filters,
        "options": worklist.options_for(user),
        "counts": counts,
        "waiting": sum(counts.values()),
        "shown_total": counts.get(filters.raw["stage"], 0)
        if "stage" in filters.values
        else sum(counts.values()),
        "page": page,
        "cursor_message": cursor_message,
        "tabs": [
            {
                "word": word,
                "label": worklist.STAGE_LABELS.get(word, "All waiting"),
                "n": counts.get(word, sum(counts.values())),
                "link": f"{here}?{filters.querystring(stage=word, after='', before='')}",
                "current": filters.raw["stage"] == word,
            }
            for word in ["", *counts]
        ],
        "links": {
            "first": f"{here}?{filters.querystring()}",
            "earlier": f"{here}?{filters.querystring(before=page.earlier)}",
            "later": f"{here}?{filters.querystring(after=page.later)}",
        },
        "query": filters.querystring(),
    }
    return render(request, "grading/worklist.html", context)


@login_required
@permission_required(GRADE, raise_exception=True)
@require_POST
def start(request):
    """Claim the longest-waiting examination (within the filters) and open its grading page."""
    filters = worklist.parse_filters(request.POST)
    exam = worklist.next_for(request.user, filters)
    if exam is None:
        messages.info(request, "Nothing is waiting for you to grade right now.")
        query = filters.querystring()
        return redirect(reverse("grading-worklist") + (f"?{query}" if query else ""))
    return redirect(grade_url(exam, filters))

"""Direct-upload pages: the form, live progress, results and recent jobs."""

import logging
from functools import partial

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db.models import Count, Max, Q
from django.http import HttpResponse, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from fundushub.accounts.limits import current_limits
from fundushub.accounts.roles import can_upload
from fundushub.catalog.choices import clean_choices, options_for
from fundushub.catalog.models import Hospital
from fundushub.lib import jsonbody, subject_pattern
from fundushub.lib.csrf import csrf_refusal
from fundushub.store.streaming import StagingUploadHandler
from fundushub.uploads import manifest
from fundushub.uploads.heartbeat import waiting_for_worker
from fundushub.uploads.ingest import DUPLICATE
from fundushub.uploads.jobs import create_job
from fundushub.uploads.labels import label_files, read_form
from fundushub.uploads.models import ItemState, job_state
from fundushub.uploads.outcome import Outcome
from fundushub.uploads.scope import visible_jobs
from fundushub.uploads.subjects import InvalidLabel, registry_refusal
from fundushub.uploads.summary import job_summary

NO_SELECTED_FILE = "No selected file"
UNREADABLE = "The upload could not be read (malformed or cut off); nothing was stored. Try again."
RECENT_JOBS = 100
log = logging.getLogger(__name__)


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _form_context(request, error=""):
    return {
        "options": options_for(request.user),
        "limits": current_limits(),
        "error": error,
        "quota_remaining": request.user.quota_remaining(),
        "subject_pattern": settings.FUNDUSHUB_SUBJECT_PATTERN,
        "subject_pattern_max": subject_pattern.MAX_LENGTH,
        "manifest_max_bytes": manifest.MAX_BYTES,
        "manifest_max_rows": manifest.MAX_ROWS,
    }


def _rejected_in_browser(raw: str) -> list:
    """The browser's list of files it left out; anything malformed is ignored, not trusted."""
    if not raw:
        return []
    try:  # the same bounded parser as every JSON endpoint (no NUL, no RecursionError)
        entries = jsonbody.parse(raw, expect=list)
    except jsonbody.InvalidJSON:
        return []
    if not isinstance(entries, list):
        return []
    return [
        {"filename": str(e.get("filename", ""))[:255], "reason": str(e.get("reason", ""))[:300]}
        for e in entries[:1000]
        if isinstance(e, dict)
    ]


def _refuse(request, error, status=400):
    if _wants_json(request):
        return JsonResponse({"error": error}, status=status)
    return render(request, "uploads/upload.html", _form_context(request, error), status=status)


@csrf_exempt  # checked below, before the first byte is staged (CsrfViewMiddleware stages all)
@login_required
@require_http_methods(["GET", "POST"])
def upload(request):
    if not can_upload(request.user):
        raise PermissionDenied
    if request.method == "GET":
        return render(request, "uploads/upload.html", _form_context(request))
    limits = current_limits()
    handler = StagingUploadHandler(request, limits.max_file_size_mb, limits.max_files)
    try:
        return _receive(request, handler)
    finally:
        handler.discard_unkept()  # a refused or failed request keeps none of its bytes


def _receive(request, handler):
    if settings.CSRF_HEADER_NAME in request.META:  # the page's header: checked before the body
        refusal = csrf_refusal(request)
        token_in_form = False
    else:  # a plain form's token, which it sends before its files
        refusal, token_in_form = None, True
    if refusal:
        return refusal
    try:
        fields, received = handler.parse(partial(_before_files, request, token_in_form))
    except (MultiPartParserError, SuspiciousOperation, UnreadablePostError) as e:
        log.warning("Upload by %s could not be read: %s", request.user, e)
        return _refuse(request, UNREADABLE)
    if handler.refusal:
        return handler.refusal
    files = received.getlist("files")
    choices, error = clean_choices(request.user, fields)
    if error or not files:
        return _refuse(request, error or NO_SELECTED_FILE)
    labels, error = _labels(choices["hospital"], fields, [f.name for f in files])
    if error:
        return _refuse(request, error)
    rejected = _rejected_in_browser(fields.get("rejected"))
    job = create_job(request, choices, files, rejected, labels)
    for f in files:
        f.kept = True  # the job's now (its rejected files were discarded by create_job)
    url = reverse("upload-processing", args=[job.id])
    if _wants_json(request):
        return JsonResponse({"job_id": str(job.id), "processing_url": url}, status=201)
    return HttpResponse(status=303, headers={"Location": url})


def _before_files(request, token_in_form: bool, fields):
    """What can be refused before a file is staged: a plain form's CSRF token, then the subjects
    and eyes the form names before its files (the page sends them first), so an upload naming a
    subject the registry does not know is refused before its bytes are taken."""
    if token_in_form:
        refusal = csrf_refusal(request, fields)
        if refusal:
            return refusal
    try:
        form = read_form(fields, complete=False)
    except InvalidLabel as e:
        return _refuse(request, str(e))
    named = form.subjects_known_before_files()
    hospital = _hospital(request.user, fields.get("hospital")) if named else None
    if hospital is None:  # nothing to ask, or refused (or not) with the whole form, as before
        return None
    error = registry_refusal(hospital, named)
    return _refuse(request, error) if error else None


def _hospital(user, raw):
    try:
        hospital_id = int(raw or "")
    except ValueError:
        return None
    return Hospital.objects.filter(pk=hospital_id, lab_units__users=user).distinct().first()


def _labels(hospital, fields, names):
    """(each file's Label, "") or (None, why the upload is refused), once every file is in."""
    try:
        form = read_form(fields)
        labels = label_files(form, names)
    except InvalidLabel as e:
        return None, str(e)
    named = form.subjects_known_before_files() + [label.subject_identifier for label in labels]
    error = registry_refusal(hospital, named)
    return (None, error) if error else (labels, "")


@require_GET
@login_required
def processing(request, job_id):
    job = get_object_or_404(visible_jobs(request.user).select_related(*_RELATED), pk=job_id)
    summary = job_summary(job, request.user)
    context = {"job": job, "summary": summary, "waiting_for_worker": waiting_for_worker(summary)}
    return render(request, "uploads/processing.html", context)


@require_GET
@login_required
def results(request, job_id):
    job = get_object_or_404(visible_jobs(request.user).select_related(*_RELATED), pk=job_id)
    summary = job_summary(job, request.user)
    if not summary["finished"]:
        return redirect("upload-processing", job_id=job.id)
    failures = [i for i in summary["items"] if i["state"] == ItemState.ERROR]
    # What the browser left out is listed with the rest: duplicates as already stored.
    left_out = [
        {
            "filename": r.get("filename", ""),
            "state": ItemState.DUPLICATE if r.get("reason") == DUPLICATE else ItemState.ERROR,
            "detail": r.get("reason", ""),
            "left_out": True,
        }
        for r in summary["rejected"]
    ]
    context = {
        "job": job,
        "summary": summary,
        "outcome": summary["outcome"],
        "failures": failures + [r for r in left_out if r["state"] == ItemState.ERROR],
        "files": summary["items"] + left_out,
    }
    return render(request, "uploads/results.html", context)


@require_GET
@login_required
def recent_jobs(request):
    jobs = (
        visible_jobs(request.user)
        .select_related("user", "hospital", "lab_unit")
        .annotate(
            n_total=Count("items"),
            n_queued=Count("items", filter=Q(items__state=ItemState.QUEUED)),
            n_processing=Count("items", filter=Q(items__state=ItemState.PROCESSING)),
            n_completed=Count("items", filter=Q(items__state=ItemState.COMPLETED)),
            n_duplicate=Count("items", filter=Q(items__state=ItemState.DUPLICATE)),
            n_error=Count("items", filter=Q(items__state=ItemState.ERROR)),
            last_finished=Max("items__finished_at"),
        )
        .order_by("-created_at")[:RECENT_JOBS]
    )
    rows = []
    for job in jobs:
        counts = {s: getattr(job, f"n_{s}") for s in ItemState.values}
        outcome = Outcome.of(counts, job.rejected)
        rows.append({"job": job, "state": job_state(counts), "outcome": outcome})
    return render(request, "uploads/jobs.html", {"rows": rows, "limit": RECENT_JOBS})


_RELATED = ("user", "hospital", "lab_unit", "camera", "disease", "area")

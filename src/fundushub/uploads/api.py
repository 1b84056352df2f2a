"""JSON for the form and the processing page: options, duplicate pre-check, job status."""

import re

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_POST

from fundushub.accounts.limits import current_limits
from fundushub.catalog.choices import may_use_hospital, options_for
from fundushub.catalog.models import Hospital
from fundushub.grading.subjects import unknown_subjects
from fundushub.lib import jsonbody
from fundushub.lib.decorators import json_login_required
from fundushub.lib.eyes import stem_of
from fundushub.lib.subject_pattern import BadPattern, compile_pattern, subject_in_name
from fundushub.store.models import Image
from fundushub.uploads.heartbeat import WAITING_FOR_WORKER, waiting_for_worker
from fundushub.uploads.scope import visible_jobs
from fundushub.uploads.subjects import InvalidLabel, clean_subject
from fundushub.uploads.summary import job_summary

MAX_HASHES = 1000
DUPLICATES_MAX_BYTES = 64_000  # 1000 hashes and a hospital fit in 40 kB
DUPLICATES_SHAPE = 'Send {"hospital": id, "md5": [hex, ...]}.'
MD5 = re.compile(r"[0-9a-fA-F]{32}")
MAX_SUBJECT_ITEMS = 1000
SUBJECTS_SHAPE = 'Send {"hospital": id, "pattern": "", "names": [...], "subjects": [...]}.'
NOT_YOUR_HOSPITAL = "You don't have access to this hospital (no lab unit of yours is in it)"


@require_GET
@json_login_required
def job_status(request, job_id):
    job = get_object_or_404(
        visible_jobs(request.user).select_related(
            "user", "hospital", "lab_unit", "camera", "disease", "area"
        ),
        pk=job_id,
    )
    summary = job_summary(job, request.user)
    summary["waiting_for_worker"] = waiting_for_worker(summary)
    summary["worker_hint"] = WAITING_FOR_WORKER if summary["waiting_for_worker"] else ""
    response = JsonResponse(summary)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@json_login_required
def upload_options(request):
    user = request.user
    data = options_for(user)
    data["limits"] = current_limits().as_dict()
    data["quota"] = {
        "quota": user.effective_quota(),
        "used": user.file_upload_count,
        "remaining": user.quota_remaining(),
    }
    return JsonResponse(data)


@require_POST
@json_login_required
def check_duplicates(request):
    """Which of these MD5s are already stored for this hospital (only hospitals the user works in)."""
    try:
        body = jsonbody.parse_request(request, max_bytes=DUPLICATES_MAX_BYTES)
        hospital_id = jsonbody.integer(body, "hospital")
        hashes = jsonbody.strings(body, "md5", max_items=MAX_HASHES, max_length=32, default=[])
        if not all(MD5.fullmatch(h) for h in hashes):
            raise jsonbody.InvalidJSON("Each md5 must be 32 hexadecimal characters.")
    except jsonbody.InvalidJSON as e:
        return JsonResponse({"error": f"{e} {DUPLICATES_SHAPE}"}, status=400)
    if not may_use_hospital(request.user, hospital_id):
        return JsonResponse({"error": NOT_YOUR_HOSPITAL}, status=403)
    found = Image.objects.filter(
        hospital_id=hospital_id, md5__in=[h.lower() for h in hashes]
    ).values_list("md5", flat=True)
    return JsonResponse({"duplicates": sorted(set(found))})


@require_POST
@json_login_required
def check_subjects(request):
    """The subjects a pattern reads from these file names, and which subjects the hospital's
    registry does not know: what the upload would refuse, shown in the file list beforehand."""
    try:
        body = jsonbody.parse_request(request)
        hospital_id = jsonbody.integer(body, "hospital")
        names = jsonbody.strings(
            body, "names", max_items=MAX_SUBJECT_ITEMS, max_length=255, default=[]
        )
        typed = jsonbody.strings(
            body, "subjects", max_items=MAX_SUBJECT_ITEMS, max_length=255, default=[]
        )
        raw_pattern = body.get("pattern") or ""
        if not isinstance(raw_pattern, str):
            raise jsonbody.InvalidJSON("pattern must be a string.")
    except jsonbody.InvalidJSON as e:
        return JsonResponse({"error": f"{e} {SUBJECTS_SHAPE}"}, status=400)
    if not may_use_hospital(request.user, hospital_id):
        return JsonResponse({"error": NOT_YOUR_HOSPITAL}, status=403)
    pattern = raw_pattern.strip() or settings.FUNDUSHUB_SUBJECT_PATTERN
    try:
        compiled = compile_pattern(pattern) if names else None
    except BadPattern as e:
        return JsonResponse({"error": f"The subject pattern cannot be used: {e}."}, status=400)
    from_names = [_identifier(subject_in_name(stem_of(n), compiled)) for n in names]
    given = [_identifier(s) for s in typed]
    valid = [e["subject"] for e in from_names + given if e["subject"] and not e["error"]]
    unknown = unknown_subjects(hospital_id, valid)
    return JsonResponse(
        {
            "pattern": pattern,
            "names": from_names,
            "subjects": given,
            "registry": unknown is not None,
            "unknown": unknown or [],
            "hospital": Hospital.objects.get(pk=hospital_id).name,
        }
    )


def _identifier(raw: str) -> dict:
    try:
        return {"subject": clean_subject(raw), "error": ""}
    except InvalidLabel as e:
        return {"subject": raw.strip(), "error": str(e)}

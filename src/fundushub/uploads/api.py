"""JSON for the form and the processing page: options, duplicate pre-check, job status."""

import re

from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_POST

from fundushub.accounts.limits import current_limits
from fundushub.catalog.choices import may_use_hospital, options_for
from fundushub.lib import jsonbody
from fundushub.lib.decorators import json_login_required
from fundushub.store.models import Image
from fundushub.uploads.heartbeat import WAITING_FOR_WORKER, waiting_for_worker
from fundushub.uploads.scope import visible_jobs
from fundushub.uploads.summary import job_summary

MAX_HASHES = 1000
DUPLICATES_MAX_BYTES = 64_000  # 1000 hashes and a hospital fit in 40 kB
DUPLICATES_SHAPE = 'Send {"hospital": id, "md5": [hex, ...]}.'
MD5 = re.compile(r"[0-9a-fA-F]{32}")


@require_GET
@json_login_required
def job_status(request, job_id):
    job = get_object_or_404(
        visible_jobs(request.user).select_related(
            "user", "hospital", "lab_unit", "camera", "disease", "area"
        ),
        pk=job_id,
    )
    summary = job_summary(job)
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
        return JsonResponse(
            {"error": "You don't have access to this hospital (no lab unit of yours is in it)"},
            status=403,
        )
    found = Image.objects.filter(
        hospital_id=hospital_id, md5__in=[h.lower() for h in hashes]
    ).values_list("md5", flat=True)
    return JsonResponse({"duplicates": sorted(set(found))})

"""JSON for the form and the processing page: options, duplicate pre-check, job status."""

import json

from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_POST

from fundushub.images.models import Image
from fundushub.uploads.choices import may_use_hospital, options_for
from fundushub.uploads.heartbeat import WAITING_FOR_WORKER, waiting_for_worker
from fundushub.uploads.limits import current_limits
from fundushub.uploads.scope import visible_jobs
from fundushub.uploads.summary import job_summary

MAX_HASHES = 1000


def _json_login_required(view):
    """login_required, but answering 401 JSON instead of redirecting a script to a login page."""

    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse({"error": "Authentication required"}, status=401)
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@require_GET
@_json_login_required
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
@_json_login_required
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
@_json_login_required
def check_duplicates(request):
    """Which of these MD5s are already stored for this hospital (only hospitals the user works in)."""
    try:
        body = json.loads(request.body or b"{}")
        hospital_id = int(body.get("hospital"))
        hashes = body.get("md5", [])
        if not isinstance(hashes, list):
            raise TypeError
        hashes = [str(h).lower() for h in hashes[:MAX_HASHES]]
    except (ValueError, TypeError, AttributeError):
        return JsonResponse({"error": 'Send {"hospital": id, "md5": [hex, ...]}'}, status=400)
    if not may_use_hospital(request.user, hospital_id):
        return JsonResponse(
            {"error": "You don't have access to this hospital (no lab unit of yours is in it)"},
            status=403,
        )
    found = Image.objects.filter(hospital_id=hospital_id, md5__in=hashes).values_list(
        "md5", flat=True
    )
    return JsonResponse({"duplicates": sorted(set(found))})

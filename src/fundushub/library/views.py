"""Media views: every image leaves through here, by opaque id, to users who may see it.

Served copies (viewer image, downloads, edited variants) are stripped of embedded metadata
byte-for-byte (store/stripped.py), never re-encoded; thumbnails are pixel-only already. The
untouched original goes only to users allowed to download originals, and is audited.

The stripped copy is built in memory: images are capped at upload (5 MB direct, 64 MB camera),
stripping reads the file once and copies it once, and nothing derived needs keeping in
storage. Originals and thumbnails are streamed from storage as they are: with S3 the bytes pass
through this view as they arrive from the bucket, so no URL of the bucket is ever handed out.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from fundushub.accounts.roles import can_download_original
from fundushub.audit.models import record
from fundushub.lib.decorators import json_login_required
from fundushub.lib.downloads import download_name, inert, readable_base
from fundushub.store import blobs, stripped
from fundushub.store.access import visible_image_or_404
from fundushub.store.sniff import PNG

ORIGINAL, EDITED = "original", "edited"
_RELATED = ("hospital", "lab_unit", "camera", "disease", "area", "uploaded_by")


def _private(response, etag="", revalidate=False):
    # Original pixels never change under an id; an edited variant may, so it is revalidated.
    response["Cache-Control"] = "private, no-cache" if revalidate else "private, max-age=3600"
    inert(response)
    if etag:
        response["ETag"] = etag
    return response


def _not_modified(request, etag: str) -> bool:
    return etag in request.headers.get("If-None-Match", "")


def _variant(request) -> str:
    variant = request.GET.get("variant") or ORIGINAL
    if variant not in (ORIGINAL, EDITED):
        raise Http404("Unknown variant")
    return variant


def _source(image, variant):
    """(key, content type, sha256) of the bytes a variant is made from; 404 when there are none."""
    if variant == EDITED:
        if not image.has_edit or not blobs.exists(image.edited_key):
            raise Http404("This image has no edited version")
        return image.edited_key, PNG, image.edited_sha256
    return image.original_key, image.content_type, image.sha256


def _stem(image, variant: str, titled: bool = False) -> str:
    """The name without extension; `titled`: a camera image, whose file name is the camera's
    opaque id, is named by its title instead ("105-10-0989-3 · left eye · 2026-12-01")."""
    if titled and image.source == image.Source.CAMERA:
        stem = readable_base(image.title, extension=False)
    else:
        stem = readable_base(image.original_filename)
    return f"{stem}-edited" if variant == EDITED else stem


def served_filename(image, variant: str, content_type: str) -> str:
    """Named by the type we stored, never the uploader's extension ("poly.html" -> "poly.jpg")."""
    return download_name(_stem(image, variant, titled=True), content_type)


def _blob_response(key: str, **kwargs) -> FileResponse:
    """The blob's bytes as they are read (raises FileNotFoundError)."""
    handle, size = blobs.reader(key)
    response = FileResponse(handle, **kwargs)
    response.block_size = 64 * 1024
    response["Content-Length"] = str(size)
    return response


def _memory_cap() -> int:
    return max(settings.CAMERA_MAX_UPLOAD_MB, settings.DIRECT_UPLOAD_MAX_FILE_SIZE_MB) * 2**20


def _clean_response(request, image_id, attachment: bool):
    image = visible_image_or_404(request.user, image_id)
    variant = _variant(request)
    key, content_type, sha = _source(image, variant)
    etag = f'"{sha[:32]}-clean"'
    revalidate = variant == EDITED
    if _not_modified(request, etag):
        return _private(HttpResponse(status=304), etag, revalidate)
    cap = _memory_cap()
    handle, _ = blobs.reader(key)
    with handle:
        data = handle.read(cap + 1)
    if len(data) > cap:
        return HttpResponse(
            "This image is too large to prepare a copy without metadata.",
            status=413,
            content_type="text/plain; charset=utf-8",
        )
    served = stripped.clean_copy(data, content_type)
    response = HttpResponse(served.data, content_type=served.content_type)
    response["Content-Disposition"] = content_disposition_header(
        attachment, served_filename(image, variant, served.content_type)
    )
    return _private(response, etag, revalidate)


@require_GET
@login_required
def thumbnail(request, image_id):
    image = visible_image_or_404(request.user, image_id)
    variant = _variant(request)
    if variant == EDITED and not image.has_edit:
        raise Http404("This image has no edited version")
    key = image.edited_thumbnail_key if variant == EDITED else image.thumbnail_key
    etag = f'"{(image.edited_sha256 if variant == EDITED else image.sha256)[:32]}-thumb"'
    if _not_modified(request, etag):  # answered without asking the storage
        return _private(HttpResponse(status=304), etag, variant == EDITED)
    try:
        response = _blob_response(
            key, content_type="image/jpeg", filename=f"{_stem(image, variant)}-thumbnail.jpg"
        )
    except FileNotFoundError:
        raise Http404("Thumbnail not made yet") from None
    return _private(response, etag, variant == EDITED)


@require_GET
@login_required
def display(request, image_id):
    """The viewer's image: the original or the edited variant, without embedded metadata."""
    return _clean_response(request, image_id, attachment=False)


@require_GET
@login_required
def download(request, image_id):
    return _clean_response(request, image_id, attachment=True)


@require_GET
@login_required
def original(request, image_id):
    """The untouched original, byte-identical to what arrived: for admins and data managers."""
    image = visible_image_or_404(request.user, image_id)
    if not can_download_original(request.user):
        raise PermissionDenied("Only admins and data managers may download untouched originals.")
    response = _blob_response(
        image.original_key,
        as_attachment=True,
        filename=served_filename(image, ORIGINAL, image.content_type),
        content_type=image.content_type,
    )
    record("image.original_downloaded", request=request, obj=image, sha256=image.sha256)
    return _private(response)


@require_GET
@json_login_required
def image_api(request, image_id):
    try:
        image = visible_image_or_404(request.user, image_id, *_RELATED)
    except Http404:
        return JsonResponse({"error": "Image not found"}, status=404)
    grades = image.grades.select_related("graded_by", "disease").order_by("-revision")
    return JsonResponse(image_document(request.user, image, list(grades)))


def _ref(obj, code=False):
    if obj is None:
        return None
    ref = {"id": obj.pk, "name": obj.name}
    if code:
        ref["code"] = obj.code
    return ref


def image_document(user, image, grades) -> dict:
    urls = {
        "viewer": reverse("image-viewer", args=[image.id]),
        "thumbnail": reverse("image-thumbnail", args=[image.id]),
        "display": reverse("image-display", args=[image.id]),
        "download": reverse("image-download", args=[image.id]),
    }
    if image.has_edit:
        urls["edited_thumbnail"] = urls["thumbnail"] + "?variant=edited"
        urls["edited_display"] = urls["display"] + "?variant=edited"
    if can_download_original(user):
        urls["original"] = reverse("image-original", args=[image.id])
    camera_image = image.source == image.Source.CAMERA
    return {
        "id": str(image.id),
        "created_at": image.created_at.isoformat(),
        "source": image.source,
        "uploaded_by": image.uploaded_by.get_username() if image.uploaded_by else None,
        "hospital": _ref(image.hospital),
        "lab_unit": _ref(image.lab_unit),
        "camera": _ref(image.camera),
        "disease": _ref(image.disease, code=True),
        "area": _ref(image.area, code=True),
        "mydriatic": image.mydriatic,
        "eye": image.area.code if camera_image and image.area else None,
        "subject": image.subject_identifier if camera_image else None,
        "filename": image.original_filename,
        "content_type": image.content_type,
        "size": image.size,
        "width": image.width,
        "height": image.height,
        "md5": image.md5,
        "sha256": image.sha256,
        "grading_status": image.grading_status,
        "grades": [
            {
                "revision": g.revision,
                "grade": g.grade,
                "label": g.label,
                "notes": g.notes,
                "disease": g.disease.code if g.disease else None,
                "graded_by": g.graded_by.get_username() if g.graded_by else None,
                "graded_at": g.graded_at.isoformat(),
            }
            for g in grades
        ],
        "has_edit": image.has_edit,
        "edited_at": image.edited_at.isoformat() if image.edited_at else None,
        "urls": urls,
    }

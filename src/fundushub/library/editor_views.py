"""The in-browser image editor (page and save) and restoring the original."""

from urllib.parse import urlsplit, urlunsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from fundushub.library import editing, text_masks, variants
from fundushub.store.access import managed_image_or_denied


def _next_url(request, image) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("image-viewer", args=[image.id])


def _showing_edit(url: str, image) -> str:
    """Back in this image's viewer after a save, it shows the version just saved."""
    parts = urlsplit(url)
    if parts.path != reverse("image-viewer", args=[image.id]):
        return url
    query = QueryDict(parts.query, mutable=True)
    query["variant"] = "edited"
    return urlunsplit(parts._replace(query=query.urlencode()))


def _page(request, image, status=200):
    context = {
        "image": image,
        "next": _next_url(request, image),
        "locked": variants.LOCKED,
        "save_url": request.get_full_path(),
        # Burned-in text found at ingest and not yet answered: masks go over it (see below).
        "text_flag": text_masks.unreviewed(image),
    }
    if not image.is_locked_for_editing:
        width, height = variants.upright_size(image)
        if context["text_flag"] is not None:
            context["text_masks"] = text_masks.masks_for(image, width, height)
        context["config"] = {
            "width": width,
            "height": height,
            "operations": {**editing.IDENTITY, **(image.edit_operations or {})},
            "limits": {
                "min_factor": editing.MIN_FACTOR,
                "max_factor": editing.MAX_FACTOR,
                "max_size": editing.MAX_SIZE,
                "max_strokes": editing.MAX_STROKES,
                "max_points": editing.MAX_POINTS,
            },
        }
    return render(request, "library/editor.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def editor(request, image_id):
    if request.method == "GET":
        return _page(request, managed_image_or_denied(request.user, image_id))
    # The editor talks JSON; its errors come back as JSON too, never as a page or a 500.
    try:
        image = managed_image_or_denied(request.user, image_id)
    except Http404:
        return JsonResponse({"error": "Image not found"}, status=404)
    except PermissionDenied:
        return JsonResponse({"error": "You may not edit this image."}, status=403)
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > editing.MAX_DOCUMENT_BYTES:
        return JsonResponse({"error": "The edit is too large; use fewer strokes."}, status=400)
    try:
        variants.save_edit(image, request.body, request.user, request=request)
    except variants.EditRefused as e:
        return JsonResponse({"error": str(e)}, status=e.status)
    # Saving is the person's answer to masks pre-placed over burned-in text.
    text_masks.mark_reviewed(image, request.user, "masked", request=request)
    messages.success(request, "Edited image saved; the original is unchanged.")
    return JsonResponse(
        {
            "edited_sha256": image.edited_sha256,
            "redirect": _showing_edit(_next_url(request, image), image),
        }
    )


@login_required
@require_POST
def restore(request, image_id):
    image = managed_image_or_denied(request.user, image_id)
    try:
        restored = variants.restore_original(image, request.user, request=request)
    except variants.EditRefused as e:
        image.refresh_from_db()
        if image.is_locked_for_editing:
            return _page(request, image, status=e.status)
        messages.error(request, str(e))
        restored = None
    if restored:
        messages.success(request, "Original restored; the edited variant was removed.")
    elif restored is False:
        messages.info(request, "This image has no edited variant.")
    return _see_other(_next_url(request, image))


@login_required
@require_POST
def text_review(request, image_id):
    """ "Not patient data": the burned-in text flag is answered without changing the picture."""
    image = managed_image_or_denied(request.user, image_id)
    if text_masks.mark_reviewed(image, request.user, "dismissed", request=request):
        messages.success(request, "Marked as not patient data; the picture is unchanged.")
    else:
        messages.info(request, "This image has no burned-in text waiting for an answer.")
    return _see_other(_next_url(request, image))


def _see_other(url):
    response = redirect(url)
    response.status_code = 303
    return response

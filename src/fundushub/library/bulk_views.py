"""Changing images from the dashboard: one image's metadata, and bulk edit or delete of a selection."""

import uuid
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from fundushub.accounts.roles import can_manage_image, can_upload
from fundushub.catalog.choices import options_for
from fundushub.library import metadata
from fundushub.library.deletion import DeletionRefused, delete_images, refusal_for
from fundushub.library.metadata import MetadataError
from fundushub.store.access import managed_image_or_denied
from fundushub.store.models import Image

MAX_SELECTED = 50
LISTED = ("hospital", "lab_unit", "camera", "disease", "area", "uploaded_by")
ACTIONS = ("edit", "delete")
ORDER = ("-created_at", "-id")  # as the dashboard lists them


class BadSelection(Exception):
    pass


def _see_other(url):
    return HttpResponse(status=303, headers={"Location": url})


def _next(request, default: str) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if url and safe else default


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# One image ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def edit_metadata(request, image_id):
    image = managed_image_or_denied(request.user, image_id, *LISTED)
    next_url = _next(request, reverse("image-viewer", args=[image.id]))
    if request.method == "GET":
        return _edit_page(request, image, next_url)
    try:
        values = metadata.clean_one(request.user, image, request.POST)
        changes = metadata.change_one(request, image, values)
    except MetadataError as e:
        return _edit_page(request, image, next_url, request.POST, e.message, e.status)
    if not changes:
        messages.info(request, metadata.NOTHING_CHANGED)
    else:
        fields = ", ".join(f.replace("_", " ") for f in changes)
        messages.success(request, f"Saved {image.original_filename}: changed {fields}.")
    return _see_other(next_url)


def _edit_page(request, image, next_url, data=None, error="", status=200):
    if data is None:
        selected = {f: str(getattr(image, f"{f}_id") or "") for f in metadata.RELATED}
        selected["mydriatic"] = image.mydriatic
    else:
        selected = {f: data.get(f, "") for f in metadata.RELATED}
        selected["mydriatic"] = str(data.get("mydriatic") or "").lower() in metadata.TRUE_WORDS
    context = {
        "image": image,
        "options": _options_with_current(request.user, image),
        "selected": selected,
        "error": error,
        "next": next_url,
        "disease_locked": image.grading_status == Image.GradingStatus.GRADED,
    }
    return render(request, "library/edit_metadata.html", context, status=status)


def _options_with_current(user, image) -> dict:
    """The user's hospitals and lab units, plus the image's own lab unit if it is not one of
    them (an uploader's image in a unit they have left): keeping it is not a move."""
    options = options_for(user)
    units = {u["id"] for h in options["hospitals"] for u in h["lab_units"]}
    if image.lab_unit_id not in units:
        current = {"id": image.lab_unit_id, "name": f"{image.lab_unit.name} (current)"}
        for h in options["hospitals"]:
            if h["id"] == image.hospital_id:
                h["lab_units"].append(current)
                break
        else:
            options["hospitals"].append(
                {"id": image.hospital_id, "name": image.hospital.name, "lab_units": [current]}
            )
    return options


# A selection -------------------------------------------------------------------------------


def _selected_ids(request) -> list:
    ids = {}  # a dict keeps the order and drops repeats in linear time
    for raw in request.POST.getlist("images"):
        try:
            ids[uuid.UUID(raw.strip())] = None
        except ValueError:
            raise BadSelection(f"Invalid image id: {raw[:40]!r}.") from None
    return list(ids)


@login_required
@require_POST
def bulk(request):
    next_url = _next(request, reverse("dashboard"))
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        shown = f" {action[:40]!r}" if action else ""
        message = f"Unknown action{shown}: choose Edit Selected or Delete Selected."
        return _refused(request, message, next_url, 400)
    try:
        ids = _selected_ids(request)
    except BadSelection as e:
        return _refused(request, str(e), next_url, 400)
    if not ids:
        messages.error(request, "Select at least one image.")
        return _see_other(next_url)
    if len(ids) > MAX_SELECTED:
        messages.error(
            request,
            f"Select at most {MAX_SELECTED} images at a time (you selected {len(ids)}).",
        )
        return _see_other(next_url)
    images = list(
        Image.objects.visible_to(request.user)
        .select_related(*LISTED)
        .filter(pk__in=ids)
        .order_by(*ORDER)
    )
    if len(images) != len(ids):
        raise Http404("No such image")  # one unknown id: the request reveals nothing
    denied = sum(1 for i in images if not can_manage_image(request.user, i))
    if denied:
        return _refused(request, _denied_message(request.user, denied, images), next_url, 403)
    if action == "edit":
        return _bulk_edit(request, images, next_url)
    return _bulk_delete(request, images, next_url)


def _denied_message(user, denied, images) -> str:
    why = (
        "you may change only the images you uploaded yourself"
        if can_upload(user)
        else "your role may view images but not change them"
    )
    return (
        f"You may not change {_plural(denied, 'image')} of the {len(images)} selected"
        f" ({why}). Nothing was changed."
    )


def _refused(request, message, next_url, status):
    return render(
        request, "library/bulk_refused.html", {"error": message, "next": next_url}, status=status
    )


def _bulk_edit(request, images, next_url):
    if request.POST.get("confirm") != "1":
        return _bulk_edit_page(request, images, next_url)
    try:
        values = metadata.clean_bulk(request.user, request.POST)
        changed = metadata.change_many(request, [i.pk for i in images], values)
    except MetadataError as e:
        return _bulk_edit_page(request, images, next_url, e.message, e.status)
    if changed:
        messages.success(request, f"Updated {_plural(len(changed), 'image')}")
    else:
        messages.info(request, metadata.NOTHING_CHANGED)
    return _see_other(next_url)


def _bulk_edit_page(request, images, next_url, error="", status=200):
    data = request.POST if error else {}
    context = {
        "images": images,
        "options": options_for(request.user),
        "selected": {f: data.get(f, "") for f in metadata.FIELDS},
        "error": error,
        "next": next_url,
        "graded": [i for i in images if i.grading_status == Image.GradingStatus.GRADED],
    }
    return render(request, "library/bulk_edit.html", context, status=status)


def _bulk_delete(request, images, next_url):
    refusal = refusal_for(images)
    if refusal:
        return _bulk_delete_page(request, images, next_url, refusal, 409)
    if request.POST.get("confirm") != "1":
        return _bulk_delete_page(request, images, next_url)
    try:
        deleted = delete_images(request, [i.pk for i in images])
    except DeletionRefused as e:
        return _bulk_delete_page(request, images, next_url, e.message, 409)
    messages.success(request, f"Deleted {_plural(len(deleted), 'image')}")
    return _see_other(_away_from(next_url, {i.pk for i in deleted}))


def _bulk_delete_page(request, images, next_url, error="", status=200):
    context = {
        "images": images,
        "error": error,
        "next": next_url,
        "from_camera": sum(1 for i in images if i.source == Image.Source.CAMERA),
    }
    return render(request, "library/bulk_delete.html", context, status=status)


def _away_from(next_url, deleted_ids) -> str:
    """next, unless it is a page of an image just deleted (the viewer's Delete button)."""
    try:
        match = resolve(urlsplit(next_url).path)
    except Resolver404:
        return next_url
    if match.kwargs.get("image_id") in deleted_ids:
        return reverse("dashboard")
    return next_url

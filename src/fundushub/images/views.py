from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from fundushub.images import blobs
from fundushub.images.scope import visible_images


def _private(response):
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@login_required
def thumbnail(request, image_id):
    image = get_object_or_404(visible_images(request.user), pk=image_id)
    if not blobs.exists(image.thumbnail_key):
        raise Http404("Thumbnail not made yet")
    response = FileResponse(blobs.open_blob(image.thumbnail_key), content_type="image/jpeg")
    return _private(response)


def display(request, image_id):
    raise NotImplementedError


def download(request, image_id):
    raise NotImplementedError


def original(request, image_id):
    raise NotImplementedError


def image_api(request, image_id):
    raise NotImplementedError

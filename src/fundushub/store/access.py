"""Who may do what to one image. Outside your scope an image does not exist (404); inside it,
an action you may not take is refused (403)."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from fundushub.accounts.roles import can_manage_image
from fundushub.store.models import Image


def visible_image_or_404(user, image_id, *related):
    images = Image.objects.visible_to(user)
    if related:
        images = images.select_related(*related)
    return get_object_or_404(images, pk=image_id)


def managed_image_or_denied(user, image_id, *related):
    """An image the user sees and may edit or delete (data managers/admins, or its uploader)."""
    image = visible_image_or_404(user, image_id, *related)
    if not can_manage_image(user, image):
        raise PermissionDenied("You may not change this image.")
    return image

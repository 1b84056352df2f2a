"""Which images a user may see: those of the lab units they are assigned to (and their own)."""

from django.db.models import Q

from fundushub.store.models import Image


def visible_images(user):
    if not user.is_authenticated:
        return Image.objects.none()
    return Image.objects.filter(Q(lab_unit__in=user.lab_units.values("pk")) | Q(uploaded_by=user))

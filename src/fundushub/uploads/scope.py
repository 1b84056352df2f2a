"""Which jobs a user may see: their own, and for admins/data managers those of their lab units."""

from django.db.models import Q

from fundushub.accounts.roles import sees_lab_unit_jobs
from fundushub.uploads.models import UploadJob


def visible_jobs(user):
    visible = Q(user=user)
    if sees_lab_unit_jobs(user):
        visible |= Q(lab_unit__in=user.lab_units.values("pk"))
    return UploadJob.objects.filter(visible)

"""The background task that checks a stored image. It is queued after the image row commits and
runs below ingest's priority, so checks never delay or refuse storage."""

import logging

from django_tasks import task

from fundushub.checks.runner import run_checks
from fundushub.store.models import Image

log = logging.getLogger(__name__)
# django-tasks' worker takes higher priorities first: storing waiting files comes before checking.
PRIORITY = -10


@task(priority=PRIORITY)
def check_image(image_id: str) -> str:
    image = Image.objects.filter(pk=image_id).first()
    if image is None:
        return "image gone"
    results = run_checks(image)
    return ", ".join(f"{name}: {row.verdict}" for name, row in results.items())

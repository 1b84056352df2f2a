"""Which stored images still need which checks, for `run_checks` to back-fill.

An image needs a check when it has no result from it, or only an "error" (the check failed, was
not run in time, or its worker died). A result from an older version of the check counts as done
unless that check is named: a new version re-runs only where asked. Images go oldest first, so a
near-duplicate's twin is the earlier image, as at ingest.
"""

from collections.abc import Iterator

from django.db.models import Exists, OuterRef, Q

from fundushub.checks.models import ImageCheck, Verdict
from fundushub.checks.registry import CHECKS
from fundushub.store.models import Image

BATCH = 200


def _done(name: str, current_only: bool) -> Exists:
    results = ImageCheck.objects.filter(image=OuterRef("pk"), name=name).exclude(
        verdict=Verdict.ERROR
    )
    if current_only:
        results = results.filter(version__gte=CHECKS[name].version)
    return Exists(results)


def images_needing(names: list[str], *, since=None, named=False, again=False):
    """The images to check for these checks (all of them with again); named: the checks were
    asked for by name, so an older version's result is run again too."""
    images = Image.objects.all()
    if since is not None:
        images = images.filter(created_at__gte=since)
    if not again:
        missing = Q()
        for name in names:
            missing |= ~_done(name, current_only=named)
        images = images.filter(missing)
    return images.order_by("created_at", "pk")


def to_run(image_ids, names: list[str], *, named=False, again=False) -> dict:
    """{image id: the checks it needs}, for one batch of images."""
    if again:
        return {pk: list(names) for pk in image_ids}
    done: dict = {pk: set() for pk in image_ids}
    results = ImageCheck.objects.filter(image_id__in=image_ids, name__in=names)
    for pk, name, version, verdict in results.values_list("image_id", "name", "version", "verdict"):
        if verdict != Verdict.ERROR and not (named and version < CHECKS[name].version):
            done[pk].add(name)
    return {pk: [n for n in names if n not in done[pk]] for pk in image_ids}


def batches(images, size: int = BATCH) -> Iterator[list[Image]]:
    """The images in (created_at, pk) order, a batch at a time; keyset, not OFFSET, so images
    that leave the selection as they are checked do not shift the pages."""
    last = None
    while True:
        page = images
        if last is not None:
            page = page.filter(
                Q(created_at__gt=last.created_at) | Q(created_at=last.created_at, pk__gt=last.pk)
            )
        batch = list(page[:size])
        if not batch:
            return
        yield batch
        last = batch[-1]

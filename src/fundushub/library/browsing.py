"""Moving through the dashboard's filtered set from the viewer: back, previous and next.

The dashboard hands its query (filters, page cursor, per-page, show) to the viewer on every
thumbnail link; the viewer keeps it on its own links, so "Back" returns to the same filtered
page and previous/next step through the same set in the dashboard's order (newest first).
"""

from dataclasses import dataclass

from django.urls import reverse

from fundushub.library import dashboard as board
from fundushub.library import keyset

PAGE_KEYS = ("cursor", "before")  # the dashboard page the viewer was opened from


@dataclass
class Browsing:
    back: str  # the dashboard, same filters and page
    query: str  # "?..." or "": the dashboard's query, for the viewer's own links
    previous: str  # the viewer of the newer neighbour in the set, or ""
    next: str  # the viewer of the older neighbour, or ""
    show_edited: bool
    here: str  # this image's viewer, in the same set
    original: str  # this image's viewer showing the original
    edited: str  # ... showing the edited version


def _with_query(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


def browsing_for(user, image, query) -> Browsing:
    filters = board.parse_filters(user, query)
    page = {k: query[k] for k in PAGE_KEYS if query.get(k)}
    kept = filters.querystring(**page)
    images = board.filtered_images(user, filters).only("id", "created_at")
    key = (image.created_at, image.pk)
    newer = keyset.newer_than(images, key).order_by(*keyset.REVERSED).first()
    older = keyset.older_than(images, key).order_by(*keyset.ORDER).first()

    def viewer(neighbour) -> str:
        if neighbour is None:
            return ""
        return _with_query(reverse("image-viewer", args=[neighbour.pk]), kept)

    here = _with_query(reverse("image-viewer", args=[image.pk]), kept)
    sep = "&" if kept else "?"
    return Browsing(
        back=_with_query(reverse("dashboard"), kept),
        query=f"?{kept}" if kept else "",
        previous=viewer(newer),
        next=viewer(older),
        show_edited=filters.show_edited,
        here=here,
        original=f"{here}{sep}variant=original",
        edited=f"{here}{sep}variant=edited",
    )

"""The dashboard's thumbnail grid: one keyset page of cards and the links around it."""

from django.db.models import Count

from fundushub.accounts.roles import can_manage_image
from fundushub.grading.models import Grade
from fundushub.library import keyset
from fundushub.store.titles import add_capture_times

BAD_CURSOR = "That page link is not valid (or has expired); showing the first page."
CARD_RELATED = ("hospital", "lab_unit", "camera", "disease", "area", "uploaded_by")


def page_of(user, images, filters, query):
    """(page, message): one keyset page of cards, each with its revision count and what the
    user may do with it; an unreadable cursor gives the first page and a message."""
    message = ""
    after = before = None
    try:
        if query.get("cursor"):
            after = keyset.decode(query["cursor"])
        elif query.get("before"):
            before = keyset.decode(query["before"])
    except keyset.InvalidCursor:
        message = BAD_CURSOR
    page = keyset.page(
        images.select_related(*CARD_RELATED), filters.per_page, after=after, before=before
    )
    # Revision counts for this page's rows only: one query, never one per card.
    revisions = (
        dict(
            Grade.objects.filter(image_id__in=[r.pk for r in page.rows])
            .values_list("image_id")
            .annotate(n=Count("*"))
            .order_by()
        )
        if page.rows
        else {}
    )
    add_capture_times(page.rows)  # camera images' titles carry their day of capture
    for image in page.rows:
        image.revisions = revisions.get(image.pk, 0)
        image.may_manage = can_manage_image(user, image)
        image.may_edit_pixels = image.may_manage and not image.is_locked_for_editing
        image.show_edited = filters.show_edited and image.has_edit
    return page, message


def links(filters, page, query=None) -> dict:
    """Query strings ("?..." or "") for the page's links, each keeping the filters; the
    Original/Edited switch also keeps the page the user is on."""

    def q(**extra):
        text = filters.querystring(**extra)
        return f"?{text}" if text else "?"

    query = query or {}
    here = {k: query.get(k) for k in ("cursor", "before") if query.get(k) and not page.is_first}

    return {
        "first": q(),
        "newer": q(before=page.newer) if page.newer else "",
        "older": q(cursor=page.older) if page.older else "",
        "show_original": q(show=None, **here),
        "show_edited": q(show="edited", **here),
        "export": q(show=None, per_page=None),
        "all_jobs": q(job=None),
        # Each thumbnail opens the viewer inside this set: it keeps the filters and the page.
        "in_set": q(**here) if q(**here) != "?" else "",
    }


def link_kpis(kpis, filters) -> None:
    """Each top-3 entry links to the dashboard narrowed to it (other filters kept)."""
    for b in kpis.breakdowns:
        for entry in b.top:
            entry.href = "?" + filters.querystring(**{b.param: entry.value})

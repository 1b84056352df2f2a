"""Keyset (cursor) pagination over (-created_at, -id): deep pages cost what the first one does.

A cursor is opaque to users: urlsafe base64 of "<ISO created_at>|<uuid>", the key of the row the
page starts after (older pages) or before (newer pages). No OFFSET anywhere.
"""

from dataclasses import dataclass

from fundushub.lib.cursor import InvalidCursor, decode, encode  # noqa: F401  (this module's cursors)

ORDER = ("-created_at", "-id")
REVERSED = ("created_at", "id")


@dataclass
class Page:
    rows: list
    newer: str | None  # cursor for the page before this one (None: this is the first page)
    older: str | None  # cursor for the page after this one (None: this is the last page)
    is_first: bool = True


def older_than(images, key):
    created_at, pk = key
    # "created_at <= t" lets the database range-scan the (created_at, id) index from the cursor.
    return images.filter(created_at__lte=created_at).exclude(created_at=created_at, id__gte=pk)


def newer_than(images, key):
    created_at, pk = key
    return images.filter(created_at__gte=created_at).exclude(created_at=created_at, id__lte=pk)


def page(images, per_page: int, *, after=None, before=None) -> Page:
    """One page of `images`: the first one, the one older than `after`, or newer than `before`.

    `after`/`before` are decoded keys. A "newer" page that would be short is the first page.
    """
    if before is not None:
        rows = list(newer_than(images, before).order_by(*REVERSED)[: per_page + 1])
        if len(rows) > per_page:
            rows = rows[:per_page][::-1]
            return Page(rows, _key(rows[0]), _key(rows[-1]), is_first=False)
        return page(images, per_page)
    query = images.order_by(*ORDER)
    if after is not None:
        query = older_than(query, after)
    rows = list(query[: per_page + 1])
    more = len(rows) > per_page
    rows = rows[:per_page]
    newer = _key(rows[0]) if after is not None and rows else None
    older = _key(rows[-1]) if more else None
    return Page(rows, newer, older, is_first=after is None)


def _key(row) -> str:
    return encode(row.created_at, row.pk)

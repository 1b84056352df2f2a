"""Who still refers to a blob: asked before any stored file is removed (deletion, sweep).

Blobs are content-addressed and shared, so a file may have several referrers: the store's own
Image rows, and rows of the ways in above it (an upload in flight, a camera file's archive). The
store may not import those apps, so each registers an answer from its AppConfig.ready(); this
module asks them all.

Kinds and what `shas` holds: "originals", "thumbs", "edited" (digests of originals/, thumbs/,
edited/ blobs), and "staging" (full staging keys; only an upload in flight refers to them).

A scrub asks the other way round too: which rows refer to the blobs of one fan-out folder, in
words, so that a missing or corrupt blob is reported with the records it breaks (rows_between).
"""

from collections.abc import Callable, Collection

from fundushub.store.models import Image

KINDS = ("staging", "originals", "thumbs", "edited")
Referrer = Callable[[str, Collection[str]], set[str]]
RowsBetween = Callable[[str, str, str], dict[str, list[str]]]

_referrers: list[Referrer] = []
_row_answers: list[RowsBetween] = []


def register(referrer: Referrer) -> Referrer:
    """Add an answer to "which of these does your app still refer to?"; usable as a decorator."""
    if referrer not in _referrers:
        _referrers.append(referrer)
    return referrer


def referenced(kind: str, shas: Collection[str]) -> set[str]:
    """Which of `shas` (of this kind) anything still refers to.

    The ways in are asked first, the store's rows last: work in flight leaves its pending state in
    the transaction that adds its Image row, so asking in this order one of the answers sees it.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown blob kind {kind!r}")
    shas = set(shas)
    if not shas:
        return set()
    found: set[str] = set()
    for referrer in _referrers:
        found |= referrer(kind, shas) & shas
    return found | _stored(kind, shas)


# The Image fields that hold each kind's digests.
_IMAGE_FIELDS = {
    "originals": ["sha256"],
    "thumbs": ["sha256", "edited_sha256"],  # a thumbnail of an original or of its variant
    "edited": ["edited_sha256"],
}


def _stored(kind: str, shas: set[str]) -> set[str]:
    fields = _IMAGE_FIELDS.get(kind, [])
    return set().union(*(values_in(Image.objects, field, shas) for field in fields))


def register_rows(answer: RowsBetween) -> RowsBetween:
    """Add an answer to "which of your rows refer to blobs of this kind with digests in
    [low, high)?", as {digest: [a row in words, …]}; usable as a decorator."""
    if answer not in _row_answers:
        _row_answers.append(answer)
    return answer


def rows_between(kind: str, low: str, high: str, images=None) -> dict[str, list[str]]:
    """Every row, of any app, that refers to a blob of this kind with low <= digest < high.

    images: the store's own share (image_rows_between), when the caller has asked for it already.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown blob kind {kind!r}")
    if images is None:
        images = image_rows_between(kind, low, high)
    found = {sha: list(rows) for sha, rows in images.items()}
    for answer in _row_answers:
        for sha, rows in answer(kind, low, high).items():
            found.setdefault(sha, []).extend(rows)
    return found


def image_rows_between(kind: str, low: str, high: str) -> dict[str, list[str]]:
    """The store's own share of rows_between: Image rows (whose blobs also have thumbnails)."""
    found: dict[str, list[str]] = {}
    for field in _IMAGE_FIELDS.get(kind, []):
        in_range = Image.objects.filter(**{f"{field}__gte": low, f"{field}__lt": high})
        for pk, sha, name in in_range.values_list("pk", field, "original_filename").order_by():
            found.setdefault(sha, []).append(f"image {pk} ({name})")
    return found


def values_in(queryset, field: str, values: Collection[str]) -> set[str]:
    """Which of `values` some row of `queryset` holds in `field` (one query)."""
    return set(queryset.filter(**{f"{field}__in": values}).values_list(field, flat=True))

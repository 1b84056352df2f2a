"""Who still refers to a blob: asked before any stored file is removed (deletion, sweep).

Blobs are content-addressed and shared, so a file may have several referrers: the store's own
Image rows, and rows of the ways in above it (an upload in flight, a camera file's archive). The
store may not import those apps, so each registers an answer from its AppConfig.ready(); this
module asks them all.

Kinds and what `shas` holds: "originals", "thumbs", "edited" (digests of originals/, thumbs/,
edited/ blobs), and "staging" (full staging keys; only an upload in flight refers to them).
"""

from collections.abc import Callable, Collection

from fundushub.store.models import Image

KINDS = ("staging", "originals", "thumbs", "edited")
Referrer = Callable[[str, Collection[str]], set[str]]

_referrers: list[Referrer] = []


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


def _stored(kind: str, shas: set[str]) -> set[str]:
    fields = {
        "originals": ["sha256"],
        "thumbs": ["sha256", "edited_sha256"],  # a thumbnail of an original or of its variant
        "edited": ["edited_sha256"],
    }.get(kind, [])
    return set().union(*(values_in(Image.objects, field, shas) for field in fields))


def values_in(queryset, field: str, values: Collection[str]) -> set[str]:
    """Which of `values` some row of `queryset` holds in `field` (one query)."""
    return set(queryset.filter(**{f"{field}__in": values}).values_list(field, flat=True))

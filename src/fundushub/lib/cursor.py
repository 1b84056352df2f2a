"""Keyset page cursors: an opaque, URL-safe token for a row's (moment, uuid) sort key, so a page
link names where the next page starts instead of an OFFSET (which slows down on deep pages)."""

import base64
import binascii
import uuid
from datetime import UTC, datetime


class InvalidCursor(ValueError):
    pass


def encode(moment: datetime, pk) -> str:
    raw = f"{moment.astimezone(UTC).isoformat()}|{uuid.UUID(str(pk)).hex}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        when, _, pk = raw.partition("|")
        moment = datetime.fromisoformat(when)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment.astimezone(UTC), uuid.UUID(pk)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor(token) from None

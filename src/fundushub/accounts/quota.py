"""The lifetime upload quota, counted in SQL so concurrent uploads and deletions never lose a count.

A unit is reserved by a conditional UPDATE before a file's bytes move (the database decides, one
file at a time, under any concurrency) and given back when the file is not stored after all, or
when a stored direct upload is deleted. The count never goes below zero.
"""

from django.db.models import F, Value
from django.db.models.functions import Greatest

from fundushub.accounts.models import User


def reserve(user_id: int) -> bool:
    """Take one unit of the user's quota; False when none is left (0 means unlimited)."""
    quota = User.objects.get(pk=user_id).effective_quota()
    users = User.objects.filter(pk=user_id)
    if quota:
        users = users.filter(file_upload_count__lt=quota)
    return bool(users.update(file_upload_count=F("file_upload_count") + 1))


def give_back(user_id: int, n: int = 1) -> None:
    User.objects.filter(pk=user_id).update(
        file_upload_count=Greatest(F("file_upload_count") - n, Value(0))
    )

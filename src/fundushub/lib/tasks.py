"""Asking the database queue about tasks (django-tasks-db keeps one row per task)."""

from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult


def task_waiting(task_path: str, first_arg) -> bool:
    """Is a task for this argument already queued and not yet picked up by a worker?"""
    return DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=task_path, args_kwargs__args__0=first_arg
    ).exists()


def failure_reason(e: BaseException) -> str:
    """An exception as one line for people: its kind and message, never a traceback."""
    text = " ".join(str(e).split())
    return f"{e.__class__.__name__}: {text}" if text else e.__class__.__name__


def gave_up(attempts: int, reason: str) -> str:
    """The detail of a file that used its last attempt (fits a 300-character field)."""
    tries = f"{attempts} attempt{'' if attempts == 1 else 's'}"
    return f"Could not be processed ({tries}): {reason}"[:300]

"""Asking the database queue about tasks (django-tasks-db keeps one row per task)."""

from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult


def task_waiting(task_path: str, first_arg) -> bool:
    """Is a task for this argument already queued and not yet picked up by a worker?"""
    return DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=task_path, args_kwargs__args__0=first_arg
    ).exists()

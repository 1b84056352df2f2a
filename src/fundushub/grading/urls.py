"""Grading pages: the worklist, examinations, quality assurance and outcomes out."""

from django.urls import path  # noqa: F401  (routes are added below, one block per page family)

urlpatterns = [
    # worklist and grading
    # examinations
    # quality assurance
]

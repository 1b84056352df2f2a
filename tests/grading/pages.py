"""Helpers for the grading pages' tests: the default programmes (a transactional test may have
flushed them), grading values and the form fields that carry them."""

from datetime import timedelta

from django.utils import timezone

from fundushub.grading.defaults import load_defaults
from fundushub.grading.models import (
    Examination,
    OutcomeRule,
    Programme,
    Scheme,
    SchemeField,
    SchemeValue,
)


def dr_programme(second_referable=False, qa=0, second_all=False) -> Programme:
    """The DR programme, with no chance second gradings unless asked for."""
    load_defaults(Scheme, SchemeField, SchemeValue, Programme, OutcomeRule)
    programme = Programme.objects.get(scheme__code="DR")
    programme.second_referable = second_referable
    programme.qa_sample_percent = qa
    programme.second_all = second_all
    programme.save()
    return programme


def dr(right="R0", left="R0", m="M0", p="P0", right_m=None, right_p=None):
    return {
        "right": {"R": right, "M": right_m or m, "P": right_p or p},
        "left": {"R": left, "M": m, "P": p},
    }


def fields(values: dict, **extra) -> dict:
    """The grading form's fields for these values: "right-R" etc."""
    data = {f"{eye}-{code}": v for eye, given in values.items() for code, v in given.items()}
    data.update(extra)
    return data


def grade_url(exam) -> str:
    return f"/grading/examinations/{exam.pk}/grade"


def waited(exam, minutes: int) -> Examination:
    """Make an examination have waited this many minutes (the worklist serves the longest first)."""
    Examination.objects.filter(pk=exam.pk).update(
        waiting_since=timezone.now() - timedelta(minutes=minutes)
    )
    return Examination.objects.get(pk=exam.pk)


def fresh(exam) -> Examination:
    return Examination.objects.get(pk=exam.pk)

"""The clinic format (ISO dates, 24-hour times) instead of en-GB's "7 Dec 2026, 2:05 p.m."."""

from django.conf import settings

DATE_FORMAT = settings.DATE_FORMAT
SHORT_DATE_FORMAT = settings.SHORT_DATE_FORMAT
DATETIME_FORMAT = settings.DATETIME_FORMAT
SHORT_DATETIME_FORMAT = settings.SHORT_DATETIME_FORMAT
TIME_FORMAT = settings.TIME_FORMAT
# Forms (the admin's date fields) show a value in the first format and accept all of these.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
]

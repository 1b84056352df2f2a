"""Logging helpers."""

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """A 4xx answer (a PermissionDenied, a bad request) is the client's doing, not a fault: Django
    logs it as a warning with the exception attached; keep the one line, drop the traceback."""

    def filter(self, record):
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True

"""Logs for machines (LOG_FORMAT=json): one JSON object a line, and secrets kept out of every line.

JsonFormatter writes the record's time, level, logger and message, then whatever the caller passed
in `extra` (a request's id, route and status; an item's ids and state). RedactSecrets runs on the
console handler in either format: a value under a secret-sounding key (password, token, cookie,
authorization, ...) becomes "[redacted]", and so does a credential written into a message or a
traceback ("Authorization: Token ...", "password=...", "{'password': [...]}").
"""

import json
import logging
import re
from datetime import UTC, datetime

REDACTED = "[redacted]"
_SECRET_WORDS = r"password|passwd|token|secret|authorization|cookie|sessionid|csrf|api_?key"
_SECRET_KEY = re.compile(_SECRET_WORDS, re.IGNORECASE)
# "Token abc…", "Bearer abc…", "Basic dXNl…": an HTTP credential, wherever it was written.
_CREDENTIAL = re.compile(r"\b(Token|Bearer|Basic|Digest)(\s+)[\w.~+/=-]{6,}", re.IGNORECASE)
# key=value, key: value, 'key': 'value', "key": ["value"] for a secret-sounding key.
_KEY_VALUE = re.compile(
    rf"""(["']?[\w-]*(?:{_SECRET_WORDS})[\w-]*["']?\s*[:=]\s*)"""
    r"""(\[[^\]]*\]|"[^"]*"|'[^']*'|[^\s,;&)}\]]+)""",
    re.IGNORECASE,
)
# What every LogRecord has; anything else on a record came from `extra` (or a filter).
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
# Django attaches the request (or a socket) to some records: its headers are not for the log.
_NOT_WRITTEN = {"request", "server_time"}


def redact_text(text: str) -> str:
    text = _CREDENTIAL.sub(rf"\1\2{REDACTED}", text)
    return _KEY_VALUE.sub(rf"\1{REDACTED}", text)


def redact_value(key: str, value):
    """A value from `extra`: hidden whole under a secret key, else its text and parts redacted."""
    if _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(key, v) for v in value]
    return value


def _extras(record: logging.LogRecord):
    for key, value in vars(record).items():
        if key not in _STANDARD and key not in _NOT_WRITTEN and not key.startswith("_"):
            yield key, value


class RedactSecrets(logging.Filter):
    """Takes secrets out of a record's message, extras and traceback before any formatter runs."""

    def filter(self, record):
        try:
            message = record.getMessage()
            redacted = redact_text(message)
            if redacted != message:
                record.msg, record.args = redacted, ()
            for key, value in list(_extras(record)):
                setattr(record, key, redact_value(key, value))
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact_text(record.exc_text)
        except Exception:  # a broken record is the formatter's to report; never lose the line
            pass
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record):
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        line.update(_extras(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)

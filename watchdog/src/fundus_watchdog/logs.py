"""Logging to stderr and to a rotating file (months unattended must not fill the disk)."""

import logging
import logging.handlers
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
LOGGER = "fundus_watchdog"


def setup_logging(level: str, log_file: Path | None, stream=None) -> list[logging.Handler]:
    """Attach the handlers to the package logger; returns them for `close_logging`."""
    logger = logging.getLogger(LOGGER)
    logger.setLevel(level)
    logger.propagate = False  # our handlers only: no second copy through a root handler
    handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_file, maxBytes=5 * 1024 * 1024, backupCount=5, encoding="utf-8", delay=True
            )
        )
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(handler)
    return handlers


def close_logging(handlers: list[logging.Handler]) -> None:
    logger = logging.getLogger(LOGGER)
    for handler in handlers:
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = True
    logger.setLevel(logging.NOTSET)

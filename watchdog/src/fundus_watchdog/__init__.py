"""Fundus camera watchdog: uploads each examination the camera writes to the server's camera API."""

__version__ = "0.1.0"

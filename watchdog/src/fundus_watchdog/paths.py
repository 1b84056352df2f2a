"""Windows realities for paths: very long paths, and a hidden state folder."""

import os
import sys
from pathlib import Path

_FILE_ATTRIBUTE_HIDDEN = 0x2


def long_path(path: Path) -> str:
    r"""The path as the OS should see it: on Windows an absolute `\\?\` path, so folders deeper than
    260 characters still work even where the LongPathsEnabled policy is off. Elsewhere unchanged."""
    text = str(path)
    if sys.platform != "win32" or text.startswith("\\\\?\\"):
        return text
    text = os.path.abspath(text)
    return "\\\\?\\UNC\\" + text[2:] if text.startswith("\\\\") else "\\\\?\\" + text


def make_state_dir(path: Path) -> None:
    """Create the watchdog's own folder; on Windows also give it the hidden attribute (a leading
    dot hides it only elsewhere), so clinic staff browsing the camera folder leave it alone."""
    existed = path.is_dir()
    path.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32" and not existed:
        import ctypes

        ctypes.windll.kernel32.SetFileAttributesW(str(path), _FILE_ATTRIBUTE_HIDDEN)

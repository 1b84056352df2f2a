"""Where a scrub has got to, kept in a small file in the data folder so that a stopped scrub (Ctrl+C,
a reboot, a cron window that ended) goes on from its last checked key instead of starting over.

The file is per machine, like the scrub's run; it holds counts, never patients' data.
"""

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings

PROBLEMS = ("corrupt", "unreadable", "missing", "missing thumbnail")


def _no_problems() -> dict[str, int]:
    return dict.fromkeys(PROBLEMS, 0)


@dataclass
class ScrubState:
    """One pass over the store: its options, the last key checked, and what it found so far."""

    sample: float
    seed: int
    started_at: str
    last_key: str = ""
    checked: int = 0
    bytes_read: int = 0
    problems: dict[str, int] = field(default_factory=_no_problems)
    finished: bool = False

    @property
    def problem_count(self) -> int:
        return sum(self.problems.values())


def state_path() -> Path:
    return Path(settings.DATA_DIR) / "scrub-state.json"


def load(path: Path) -> ScrubState | None:
    """The saved pass, or None when there is none (or the file is unreadable: start over)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        problems = {**_no_problems(), **data.pop("problems", {})}
        return ScrubState(**data, problems=problems)
    except (OSError, ValueError, TypeError):
        return None


def save(path: Path, state: ScrubState) -> None:
    # Written beside and renamed over: a crash mid-write leaves the previous checkpoint.
    tmp = path.with_name(f"{path.name}.tmp")
    tmp.write_text(json.dumps(asdict(state), indent=1), encoding="utf-8")
    os.replace(tmp, path)


def forget(path: Path) -> None:
    path.unlink(missing_ok=True)
